using VDiTLens.Pipelines;
using VDiTLens.Runtime;
using VDiTLens.Tests.Pipelines;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Reports.Explorer;

/// <summary>
/// A tiny random joint-attention pipeline of one family (the folders the pipeline tests use) with a small request of
/// two prompts of different lengths, so text padding differs between batch rows. Text keys come first in CogVideoX
/// (diffusers: <c>cat([encoder_hidden_states, hidden_states])</c>) and last in Mochi-1 and HunyuanVideo
/// (<c>cat([hidden_states, encoder_hidden_states])</c>).
/// </summary>
public sealed class TinyJointPipeline : IDisposable
{
    public static readonly string[] Families = { "cogvideox", "mochi", "hunyuan" };

    private readonly IDisposable _folder;

    public ITextToVideoPipeline Pipeline { get; }
    public GenerationRequest Request { get; }
    public bool TextFirst { get; }

    public TinyJointPipeline(string family)
    {
        TorchRuntime.Initialise();
        var compute = new ComputeOptions(CPU, ScalarType.Float32, 3);
        string[] prompts = { "a cat", "two dogs run along the beach" };
        switch (family)
        {
            case "cogvideox":
                var cog = new TinyCogVideoXFolder();
                (_folder, Pipeline, TextFirst) = (cog, CogVideoXPipeline.CreateRandom(cog.Path, compute), true);
                Request = new GenerationRequest { Prompts = prompts, GuidanceScale = 6, Height = 32, Width = 48, Frames = 9, MaxSequenceLength = 10 };
                break;
            case "mochi":
                var mochi = new TinyMochiPipelineFolder();
                (_folder, Pipeline, TextFirst) = (mochi, MochiPipeline.CreateRandom(mochi.Path, compute), false);
                Request = new GenerationRequest { Prompts = prompts, GuidanceScale = 4.5, Height = 32, Width = 48, Frames = 13, MaxSequenceLength = 8 };
                break;
            case "hunyuan":
                var hunyuan = new TinyHunyuanVideoPipelineFolder();
                var pipeline = HunyuanVideoPipeline.CreateRandom(hunyuan.Path, compute);
                pipeline.PromptTemplate = TinyHunyuanVideoPipelineFolder.Template;
                (_folder, Pipeline, TextFirst) = (hunyuan, pipeline, false);
                Request = new GenerationRequest { Prompts = prompts, NegativePrompt = "blur", TrueCfgScale = 2, GuidanceScale = 6, Height = 16, Width = 16, Frames = 5, MaxSequenceLength = 8 };
                break;
            default:
                throw new ArgumentException($"unknown family {family}", nameof(family));
        }
        Request = Request with { Steps = 2, Seed = 5 };
    }

    public void Dispose()
    {
        Pipeline.Dispose();
        _folder.Dispose();
    }
}
