using VDiTLens.IO;
using VDiTLens.Models.CogVideoX;
using VDiTLens.Models.CogVideoX.Vae;
using VDiTLens.Schedulers;
using VDiTLens.Text;

namespace VDiTLens.Pipelines;

/// <summary>
/// A diffusers <c>CogVideoXPipeline</c> folder (e.g. THUDM/CogVideoX-2b, -5b), checked before any weight is read: the
/// components model_index.json names, their classes, and that their sizes fit together.
/// </summary>
public sealed class CogVideoXPipelineFolder
{
    public const string PipelineClass = "CogVideoXPipeline";
    public static readonly string[] RequiredComponents = { "transformer", "text_encoder", "tokenizer", "scheduler", "vae" };
    public static readonly string[] SupportedSchedulers = { "CogVideoXDDIMScheduler", "CogVideoXDPMScheduler" };
    private const string TransformerClass = "CogVideoXTransformer3DModel";
    private const string VaeClass = "AutoencoderKLCogVideoX";

    public PipelineFolder Folder { get; }
    public string IndexFile => Path.Combine(Folder.Path, "model_index.json");
    public ModelFolder Transformer { get; }
    public CogVideoXConfig TransformerConfig { get; }
    public ModelFolder TextEncoder { get; }
    public T5EncoderConfig TextEncoderConfig { get; }
    public string TokenizerPath { get; }
    public string SchedulerPath { get; }
    public ModelFolder Vae { get; }
    public CogVideoXVaeConfig VaeConfig { get; }

    private CogVideoXPipelineFolder(string path)
    {
        if (!Directory.Exists(path)) throw new VDiTLensException($"{path}: pipeline folder not found");
        if (!PipelineFolder.IsPipeline(path))
            throw new VDiTLensException($"{path}: no model_index.json; --model must be a diffusers pipeline folder (pipe.save_pretrained)");
        Folder = PipelineFolder.Open(path);
        if (Folder.ClassName != PipelineClass)
            throw new VDiTLensException($"{IndexFile}: _class_name '{Folder.ClassName ?? "missing"}' is not {PipelineClass}");
        var components = Folder.Components;
        foreach (var name in RequiredComponents)
            if (!components.ContainsKey(name))
                throw new VDiTLensException($"{IndexFile}: component '{name}' is missing; a {PipelineClass} needs {string.Join(", ", RequiredComponents)}");

        Transformer = ModelFolder.Open(Folder.ComponentPath("transformer"));
        CheckClass("transformer", Transformer.ClassName, TransformerClass);
        TransformerConfig = CogVideoXConfig.Read(Transformer);

        TextEncoder = ModelFolder.Open(Folder.ComponentPath("text_encoder"));
        TextEncoderConfig = T5EncoderConfig.Read(TextEncoder);

        TokenizerPath = Folder.ComponentPath("tokenizer");
        SchedulerPath = Folder.ComponentPath("scheduler");
        string? schedulerClass = SchedulerConfigFile.Read(SchedulerPath).Get<string?>("_class_name", null);
        if (schedulerClass is null || !SupportedSchedulers.Contains(schedulerClass))
            throw new VDiTLensException($"{SchedulerPath}/scheduler_config.json: _class_name '{schedulerClass ?? "missing"}' is not a scheduler a {PipelineClass} can use (supported: {string.Join(", ", SupportedSchedulers)})");

        Vae = ModelFolder.Open(Folder.ComponentPath("vae"));
        CheckClass("vae", Vae.ClassName, VaeClass);
        VaeConfig = CogVideoXVaeConfig.Read(Vae);
        CheckSizes();
    }

    public static CogVideoXPipelineFolder Open(string path) => new(path);

    private void CheckClass(string component, string? found, string expected)
    {
        if (found != expected)
            throw new VDiTLensException($"{Path.Combine(Folder.Path, component)}/config.json: _class_name '{found ?? "missing"}' is not supported for component '{component}' (supported: {expected})");
    }

    private void CheckSizes()
    {
        var t = TransformerConfig;
        if (TextEncoderConfig.d_model != t.text_embed_dim)
            throw new VDiTLensException(
                $"component sizes do not match: text_encoder/config.json d_model = {TextEncoderConfig.d_model} but transformer/config.json text_embed_dim = {t.text_embed_dim} ({Folder.Path}); the components come from different models");
        if (VaeConfig.latent_channels != t.in_channels || VaeConfig.latent_channels != t.out_channels)
            throw new VDiTLensException(
                $"component sizes do not match: vae/config.json latent_channels = {VaeConfig.latent_channels} but transformer/config.json in_channels = {t.in_channels}, out_channels = {t.out_channels} ({Folder.Path})");
    }
}
