using VDiTLens.Models.Common;
using VDiTLens.Attention;
using VDiTLens.Runtime;
using VDiTLens.Text;
using static TorchSharp.torch;

namespace VDiTLens.Pipelines;

/// <summary>A loaded text-to-video pipeline (Wan, CogVideoX, Mochi): what a caller that does not care which one needs.</summary>
public interface ITextToVideoPipeline : IDisposable
{
    /// <summary>diffusers' pipeline class (model_index.json's <c>_class_name</c>).</summary>
    string ClassName { get; }

    /// <summary>Device, dtype and seed the pipeline was loaded with.</summary>
    ComputeOptions Options { get; }

    /// <summary>The seam the transformer's attention goes through.</summary>
    AttentionSeam Seam { get; }

    /// <summary>The denoising transformer (its <see cref="IVideoTransformer.BlockOutputs"/> hook reads the residual stream).</summary>
    IVideoTransformer Transformer { get; }

    /// <summary>The transformer's attention sites, in forward order.</summary>
    IReadOnlyList<AttentionSite> Sites { get; }

    IPromptTokenizer Tokenizer { get; }

    /// <summary>diffusers' <c>__call__</c> defaults for this pipeline.</summary>
    GenerationDefaults Defaults { get; }

    /// <summary>The starting latents of <paramref name="request"/> (its own, or its seed's noise), in this pipeline's latent layout on the device.</summary>
    Tensor InitialLatents(GenerationRequest request);

    /// <summary>Runs the whole generation; returns the video [B, F, H, W, 3] float32 in [0, 1] on the CPU.</summary>
    Tensor Generate(GenerationRequest request);

    /// <summary>
    /// The denoising loop only: the final latents on the device, before de-normalisation and decoding (float32 for
    /// Wan, the model dtype for CogVideoX and Mochi, in each pipeline's own latent layout).
    /// </summary>
    Tensor Denoise(GenerationRequest request);

    /// <summary>Final latents from <see cref="Denoise"/> → video [B, F, H, W, 3] float32 in [0, 1] on the CPU.</summary>
    Tensor DecodeLatents(Tensor latents);
}
