using VDiTLens.Attention;
using VDiTLens.Text;
using static TorchSharp.torch;

namespace VDiTLens.Pipelines;

/// <summary>A loaded text-to-video pipeline (Wan, CogVideoX, Mochi): what a caller that does not care which one needs.</summary>
public interface ITextToVideoPipeline : IDisposable
{
    /// <summary>diffusers' pipeline class (model_index.json's <c>_class_name</c>).</summary>
    string ClassName { get; }

    /// <summary>The seam the transformer's attention goes through.</summary>
    AttentionSeam Seam { get; }

    IPromptTokenizer Tokenizer { get; }

    /// <summary>diffusers' <c>__call__</c> defaults for this pipeline.</summary>
    GenerationDefaults Defaults { get; }

    /// <summary>Runs the whole generation; returns the video [B, F, H, W, 3] float32 in [0, 1] on the CPU.</summary>
    Tensor Generate(GenerationRequest request);
}
