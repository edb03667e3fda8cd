using VDiTLens.Models.Common;
using VDiTLens.Attention;
using VDiTLens.Runtime;
using VDiTLens.Text;
using VDiTLens.IO;
using static TorchSharp.torch;

namespace VDiTLens.Pipelines;

/// <summary>A loaded text-to-video pipeline (Wan, CogVideoX, Mochi-1, HunyuanVideo): what a caller that does not care which one needs.</summary>
public interface ITextToVideoPipeline : IDisposable
{
    /// <summary>diffusers' pipeline class (model_index.json's <c>_class_name</c>).</summary>
    string ClassName { get; }

    /// <summary>Device, dtype and seed the pipeline was loaded with.</summary>
    ComputeOptions Options { get; }

    /// <summary>The seam the transformer's attention goes through.</summary>
    AttentionSeam Seam { get; }

    /// <summary>The denoising transformer (its <see cref="IVideoTransformer.Hooks"/> read and replace blocks).</summary>
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

    /// <summary>The pipeline folder (model_index.json's folder) and its transformer component.</summary>
    string FolderPath { get; }
    ModelFolder TransformerFolder { get; }

    /// <summary>What the transformer receives for <paramref name="prompts"/>: embeddings, and the mask and pooled embedding where the family takes them.</summary>
    TextConditioning EncodeText(IReadOnlyList<string> prompts, int maxSequenceLength);

    /// <summary>
    /// The display text of each text token the transformer receives for each prompt (<see cref="IPromptTokenizer.TokenTexts"/>,
    /// padding as <see cref="TokenText.Padding"/>), one entry per text key of its attention, in the order of
    /// <see cref="EncodeText"/>'s embeddings.
    /// </summary>
    string[][] TextTokens(IReadOnlyList<string> prompts, int maxSequenceLength)
    {
        using var tokens = Tokenizer.Encode(prompts, maxSequenceLength);
        return tokens.TokenTexts(Tokenizer);
    }

    /// <summary>
    /// The forward arguments (diffusers' names) the denoising loop passes <paramref name="transformer"/> for one call:
    /// latents in this pipeline's layout, the timestep [B] as the scheduler gives it, one branch's text, and the
    /// guidance scale (HunyuanVideo's embedded guidance). Any transformer of this pipeline's class takes them, so a
    /// teacher and a student see the same call.
    /// </summary>
    IReadOnlyDictionary<string, Tensor> TransformerInputs(Tensor latents, Tensor timestep, TextConditioning text, double guidanceScale);

    /// <summary>The regression the transformer was trained with, as this pipeline's scheduler integrates its output.</summary>
    DenoisingObjective Objective { get; }

    /// <summary>Final latents from <see cref="Denoise"/> → video [B, F, H, W, 3] float32 in [0, 1] on the CPU.</summary>
    Tensor DecodeLatents(Tensor latents);
}
