using VDiTLens.Attention;
using VDiTLens.Text;
using static TorchSharp.torch;

namespace VDiTLens.Pipelines;

/// <summary>What the CLI and studies need of any text-to-video pipeline, whatever its model family.</summary>
public interface ITextToVideoPipeline : IDisposable
{
    /// <summary>The diffusers pipeline class this ports (model_index.json's <c>_class_name</c>).</summary>
    string ClassName { get; }

    /// <summary>The seam the denoising transformer's attention goes through.</summary>
    AttentionSeam Seam { get; }

    IPromptTokenizer Tokenizer { get; }

    /// <summary>A request with this pipeline's diffusers <c>__call__</c> defaults (size, frames, guidance, prompt length); no prompt.</summary>
    GenerationRequest DefaultRequest { get; }

    /// <summary>Runs the whole generation; returns the video [B, F, H, W, 3] float32 in [0, 1] on the CPU.</summary>
    Tensor Generate(GenerationRequest request);
}
