using static TorchSharp.torch;

namespace VDiTLens.Pipelines;

/// <summary>The check every pipeline makes of its text encoders' output before it denoises with it.</summary>
internal static class EncoderOutput
{
    /// <summary>Throws unless every output is finite; <paramref name="encoders"/> are the encoders' folders, named in the message.</summary>
    public static void RequireFinite(IReadOnlyList<Tensor> outputs, params string[] encoders)
    {
        if (outputs.All(o => o.isfinite().all().item<bool>())) return;
        throw new VDiTLensException(encoders.Length == 1
            ? $"the text encoder's output is not finite ({encoders[0]}); check its weights, or run in float32"
            : $"the text encoders' output is not finite ({string.Join(", ", encoders)}); check their weights, or run in float32");
    }
}
