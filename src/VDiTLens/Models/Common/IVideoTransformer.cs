using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Models.Common;

/// <summary>A video diffusion transformer of any family, driven with diffusers' forward keyword arguments.</summary>
public interface IVideoTransformer : IDisposable
{
    /// <summary>diffusers' class name, e.g. <c>WanTransformer3DModel</c>.</summary>
    string ClassName { get; }

    /// <summary>The seam all of this model's attention calls go through.</summary>
    AttentionSeam Seam { get; }

    /// <summary>Every attention site in call order.</summary>
    IReadOnlyList<AttentionSite> Sites { get; }

    /// <summary>The hooks its block stack runs through: observe each block's output, or take a block's call over.</summary>
    BlockHooks Hooks { get; }

    /// <summary>The input keys <see cref="Forward"/> requires (diffusers' argument names).</summary>
    IReadOnlyList<string> RequiredInputs { get; }

    /// <summary>
    /// One forward pass. <paramref name="inputs"/> are keyed by diffusers' forward argument names (the fixture keys);
    /// the result is the model output (diffusers' <c>sample</c>).
    /// </summary>
    Tensor Forward(IReadOnlyDictionary<string, Tensor> inputs);
}
