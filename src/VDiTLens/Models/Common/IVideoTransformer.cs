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

    /// <summary>
    /// Optional observer of intermediate outputs during <see cref="Forward"/>: each block's residual stream under a
    /// family-specific key (Wan <c>blocks.{i}</c>; CogVideoX and Mochi-1 <c>block_out.{i}.hidden|encoder</c>, the
    /// fixtures' names; HunyuanVideo <c>double{i}|single{i}.hidden|encoder</c>). <c>hidden</c> and Wan's keys hold video
    /// tokens only [B, N, C]. The observer owns the tensor it receives (a detached copy).
    /// </summary>
    Action<string, Tensor>? BlockOutputs { get; set; }

    /// <summary>The input keys <see cref="Forward"/> requires (diffusers' argument names).</summary>
    IReadOnlyList<string> RequiredInputs { get; }

    /// <summary>
    /// One forward pass. <paramref name="inputs"/> are keyed by diffusers' forward argument names (the fixture keys);
    /// the result is the model output (diffusers' <c>sample</c>).
    /// </summary>
    Tensor Forward(IReadOnlyDictionary<string, Tensor> inputs);
}
