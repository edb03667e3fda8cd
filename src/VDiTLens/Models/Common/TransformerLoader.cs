using VDiTLens.IO;
using VDiTLens.Runtime;

namespace VDiTLens.Models.Common;

/// <summary>Builds the right model family from a folder's <c>config.json</c> <c>_class_name</c> and loads its weights.</summary>
public static class TransformerLoader
{
    private static readonly Dictionary<string, Func<ModelFolder, ComputeOptions, IVideoTransformer>> Families = new()
    {
        ["WanTransformer3DModel"] = (f, o) => Wan.WanTransformer3DModel.Load(f, o),
        ["HunyuanVideoTransformer3DModel"] = (f, o) => HunyuanVideo.HunyuanVideoTransformer3DModel.Load(f, o),
        ["CogVideoXTransformer3DModel"] = (f, o) => CogVideoX.CogVideoXTransformer3DModel.Load(f, o),
        ["MochiTransformer3DModel"] = (f, o) => Mochi.MochiTransformer3DModel.Load(f, o),
    };

    /// <summary>Builders with freshly initialised (random) weights, for benchmarks and training from scratch.</summary>
    private static readonly Dictionary<string, Func<ModelFolder, ComputeOptions, IVideoTransformer>> RandomBuilders = new()
    {
        ["WanTransformer3DModel"] = (f, o) => new Wan.WanTransformer3DModel(Wan.WanConfig.Read(f), o.Device, o.DType),
        ["HunyuanVideoTransformer3DModel"] = (f, o) => new HunyuanVideo.HunyuanVideoTransformer3DModel(HunyuanVideo.HunyuanVideoConfig.Read(f), o.Device, o.DType),
        ["CogVideoXTransformer3DModel"] = (f, o) => new CogVideoX.CogVideoXTransformer3DModel(CogVideoX.CogVideoXConfig.Read(f), o.Device, o.DType),
        ["MochiTransformer3DModel"] = (f, o) => new Mochi.MochiTransformer3DModel(Mochi.MochiConfig.Read(f), o.Device, o.DType),
    };

    public static IReadOnlyCollection<string> SupportedClasses => Families.Keys;

    /// <summary>Builds the model a folder's config.json describes, with random weights (no checkpoint read).</summary>
    public static IVideoTransformer CreateRandom(ModelFolder folder, ComputeOptions options)
    {
        string className = folder.ClassName ?? throw new VDiTLensException($"{folder.Path}/config.json: no '_class_name' field");
        if (!RandomBuilders.TryGetValue(className, out var build))
            throw new VDiTLensException($"{folder.Path}/config.json: _class_name '{className}' is not supported (supported: {string.Join(", ", RandomBuilders.Keys)})");
        var model = build(folder, options);
        ((TorchSharp.torch.nn.Module)model).eval();
        return model;
    }

    public static IVideoTransformer Load(string path, ComputeOptions options)
    {
        if (PipelineFolder.IsPipeline(path))
            path = PipelineFolder.Open(path).ComponentPath("transformer");
        var folder = ModelFolder.Open(path);
        string? className = folder.ClassName;
        if (className is null)
            throw new VDiTLensException($"{folder.Path}/config.json: no '_class_name' field; cannot tell which model this is");
        if (!Families.TryGetValue(className, out var build))
            throw new VDiTLensException($"{folder.Path}/config.json: _class_name '{className}' is not supported (supported: {string.Join(", ", Families.Keys)})");
        return build(folder, options);
    }
}
