using System.Text.Json.Nodes;
using VDiTLens.IO;
using VDiTLens.Models.Mochi;
using VDiTLens.Models.Mochi.Vae;
using VDiTLens.Schedulers;
using VDiTLens.Text;

namespace VDiTLens.Pipelines;

/// <summary>
/// A diffusers <c>MochiPipeline</c> folder, checked before any weight is read: the five components model_index.json
/// names (none is optional in diffusers), their classes, and that their sizes fit together.
/// </summary>
public sealed class MochiPipelineFolder
{
    public const string PipelineClass = "MochiPipeline";
    public static readonly string[] RequiredComponents = { "transformer", "text_encoder", "tokenizer", "scheduler", "vae" };
    private const string TransformerClass = "MochiTransformer3DModel";
    private const string VaeClass = "AutoencoderKLMochi";
    private const string SchedulerClass = "FlowMatchEulerDiscreteScheduler";

    public PipelineFolder Folder { get; }
    public string IndexFile => Path.Combine(Folder.Path, "model_index.json");
    public ModelFolder Transformer { get; }
    public MochiConfig TransformerConfig { get; }
    public ModelFolder TextEncoder { get; }
    public T5EncoderConfig TextEncoderConfig { get; }
    public string TokenizerPath { get; }
    public string SchedulerPath { get; }
    public ModelFolder Vae { get; }
    public MochiVaeConfig VaeConfig { get; }

    /// <summary>model_index.json's <c>force_zeros_for_empty_prompt</c> (diffusers' default false).</summary>
    public bool ForceZerosForEmptyPrompt { get; }

    private MochiPipelineFolder(string path)
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
        ForceZerosForEmptyPrompt = Folder.Index["force_zeros_for_empty_prompt"] is JsonValue f && f.GetValue<bool>();

        Transformer = ModelFolder.Open(Folder.ComponentPath("transformer"));
        CheckClass("transformer", Transformer.ClassName, TransformerClass);
        TransformerConfig = MochiConfig.Read(Transformer);

        TextEncoder = ModelFolder.Open(Folder.ComponentPath("text_encoder"));
        TextEncoderConfig = T5EncoderConfig.Read(TextEncoder);

        TokenizerPath = Folder.ComponentPath("tokenizer");
        SchedulerPath = Folder.ComponentPath("scheduler");
        string? schedulerClass = SchedulerConfigFile.Read(SchedulerPath).Get<string?>("_class_name", null);
        if (schedulerClass != SchedulerClass)
            throw new VDiTLensException($"{SchedulerPath}/scheduler_config.json: _class_name '{schedulerClass ?? "missing"}' is not a scheduler a {PipelineClass} can use (supported: {SchedulerClass}, which takes its sigma schedule)");

        Vae = ModelFolder.Open(Folder.ComponentPath("vae"));
        CheckClass("vae", Vae.ClassName, VaeClass);
        VaeConfig = MochiVaeConfig.Read(Vae);
        CheckSizes();
    }

    public static MochiPipelineFolder Open(string path) => new(path);

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
