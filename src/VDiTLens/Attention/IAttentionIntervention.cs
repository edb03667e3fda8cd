using static TorchSharp.torch;

namespace VDiTLens.Attention;

/// <summary>The rest of the chain after an intervention: later interventions, then the kernel.</summary>
public delegate Tensor AttentionNext(AttentionCall call, Tensor q, Tensor k, Tensor v);

/// <summary>
/// Changes how an attention call is computed (mask, temperature, transferred q/k, ablation, another kernel).
/// Like middleware: call <c>next</c> with (possibly changed) inputs, or compute the result itself.
/// </summary>
public interface IAttentionIntervention
{
    bool Accepts(AttentionCall call);

    Tensor Invoke(AttentionCall call, Tensor q, Tensor k, Tensor v, AttentionNext next);
}
