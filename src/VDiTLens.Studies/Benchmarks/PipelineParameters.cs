using VDiTLens.Pipelines;
using static TorchSharp.torch;

namespace VDiTLens.Benchmarks;

/// <summary>Parameter counts of a pipeline's components, under diffusers' component names.</summary>
public static class PipelineParameters
{
    public static IReadOnlyDictionary<string, long> Count(ITextToVideoPipeline pipeline)
    {
        var modules = new Dictionary<string, nn.Module?>();
        switch (pipeline)
        {
            case WanPipeline wan:
                modules["transformer"] = wan.Transformer;
                modules["text_encoder"] = (nn.Module)wan.TextEncoder;
                modules["vae"] = wan.Vae;
                break;
            case CogVideoXPipeline cog:
                modules["transformer"] = cog.Transformer;
                modules["text_encoder"] = (nn.Module)cog.TextEncoder;
                modules["vae"] = cog.Vae;
                break;
            case MochiPipeline mochi:
                modules["transformer"] = mochi.Transformer;
                modules["text_encoder"] = (nn.Module)mochi.TextEncoder;
                modules["vae"] = mochi.Vae;
                break;
            case HunyuanVideoPipeline hunyuan:
                modules["transformer"] = hunyuan.Transformer;
                modules["text_encoder"] = hunyuan.TextEncoder;
                modules["text_encoder_2"] = hunyuan.TextEncoder2;
                modules["vae"] = hunyuan.Vae;
                break;
            default:
                throw new VDiTLensException($"{pipeline.ClassName}: no parameter count for this pipeline class");
        }
        return modules.ToDictionary(kv => kv.Key, kv => kv.Value is null ? 0L : kv.Value.parameters().Sum(p => p.numel()));
    }
}
