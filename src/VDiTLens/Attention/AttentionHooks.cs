using static TorchSharp.torch;

namespace VDiTLens.Attention;

/// <summary>A probe as a plain function: sees every selected call (the whole batch; <see cref="AttentionSelector.RowIndices"/> names the selected rows).</summary>
public delegate void AttentionObserver(AttentionCall call, Tensor q, Tensor k, Tensor v, Tensor output);

/// <summary>An intervention as a plain function; like <see cref="IAttentionIntervention.Invoke"/>, it must call <c>next</c>.</summary>
public delegate Tensor AttentionInterceptor(AttentionCall call, Tensor q, Tensor k, Tensor v, AttentionNext next);

internal sealed class FunctionProbe(AttentionSelector selector, AttentionObserver observe) : IAttentionProbe
{
    public bool Accepts(AttentionCall call) => selector.Accepts(call);
    public void Observe(AttentionCall call, Tensor q, Tensor k, Tensor v, Tensor output) => observe(call, q, k, v, output);
}

internal sealed class FunctionIntervention(AttentionSelector selector, AttentionInterceptor intercept) : IAttentionIntervention
{
    public bool Accepts(AttentionCall call) => selector.Accepts(call);
    public Tensor Invoke(AttentionCall call, Tensor q, Tensor k, Tensor v, AttentionNext next) => intercept(call, q, k, v, next);
}
