using System.Text.Json.Nodes;
using VDiTLens.IO;
using VDiTLens.Models.Wan;
using VDiTLens.Models.Wan.Vae;
using VDiTLens.Schedulers;
using VDiTLens.Text;

namespace VDiTLens.Pipelines;

/// <summary>
/// A diffusers <c>WanPipeline</c> folder, checked before any weight is read: the components model_index.json names,
/// their classes, and that their sizes fit together. <see cref="VaePath"/> is null for a pixel-space pipeline
/// (model_index.json's "vae" null or absent): the transformer's latents are then the video itself.
/// </summary>
public sealed class WanPipelineFolder
{
    public const string PipelineClass = "WanPipeline";
    public static readonly string[] RequiredComponents = { "transformer", "text_encoder", "tokenizer", "scheduler" };
    public static readonly string[] SupportedSchedulers = { "UniPCMultistepScheduler", "FlowMatchEulerDiscreteScheduler" };
    private const string TransformerClass = "WanTransformer3DModel";
    private const string VaeClass = "AutoencoderKLWan";

    public PipelineFolder Folder { get; }
    public string IndexFile => Path.Combine(Folder.Path, "model_index.json");
    public ModelFolder Transformer { get; }
    public WanConfig TransformerConfig { get; }
    public ModelFolder TextEncoder { get; }
    public T5EncoderConfig TextEncoderConfig { get; }
    public string TokenizerPath { get; }
    public string SchedulerPath { get; }
    public string? VaePath { get; }
    public WanVaeConfig? VaeConfig { get; }

    private WanPipelineFolder(string path)
    {
        Folder = PipelineFolder.OpenPipeline(path);
        CheckIndex();
        Folder.RequireComponents(PipelineClass, RequiredComponents, " (vae optional)");
        Transformer = Folder.OpenComponent("transformer", TransformerClass);
        TransformerConfig = WanConfig.Read(Transformer);
        TextEncoder = ModelFolder.Open(Folder.ComponentPath("text_encoder"));
        TextEncoderConfig = T5EncoderConfig.Read(TextEncoder);
        TokenizerPath = Folder.ComponentPath("tokenizer");
        SchedulerPath = Folder.SchedulerPath(PipelineClass, SupportedSchedulers);
        if (Folder.Components.ContainsKey("vae"))
        {
            VaePath = Folder.ComponentPath("vae");
            VaeConfig = WanVaeConfig.Read(Folder.OpenComponent("vae", VaeClass));
        }
        CheckSizes();
    }

    public static WanPipelineFolder Open(string path) => new(path);

    private void CheckIndex()
    {
        string? className = Folder.ClassName;
        if (className != PipelineClass)
            throw new VDiTLensException($"{IndexFile}: _class_name '{className ?? "missing"}' is not supported (supported: {PipelineClass})");
        if (Folder.Components.ContainsKey("transformer_2"))
            throw new VDiTLensException($"{IndexFile}: component 'transformer_2' (Wan2.2 two-expert denoising) is not supported; set it to [null, null]");
        if (Folder.Index["boundary_ratio"] is JsonValue)
            throw new VDiTLensException($"{IndexFile}: field 'boundary_ratio' (Wan2.2 expert switching) is not supported; set it to null");
        if (Folder.Index["expand_timesteps"] is JsonValue e && e.GetValue<bool>())
            throw new VDiTLensException($"{IndexFile}: field 'expand_timesteps' = true (Wan2.2 per-token timesteps) is not supported");
        foreach (var (name, (_, cls)) in Folder.Components)
        {
            string expected = name switch
            {
                "transformer" => TransformerClass,
                "vae" => VaeClass,
                _ => "",
            };
            if (expected != "" && cls != expected)
                throw new VDiTLensException($"{IndexFile}: component '{name}' has class '{cls}'; a {PipelineClass} supports only {expected}");
        }
    }


    private void CheckSizes()
    {
        var t = TransformerConfig;
        string transformerConfig = Path.Combine(Transformer.Path, "config.json");
        if (TextEncoderConfig.d_model != t.text_dim)
            throw new VDiTLensException(
                $"component sizes do not match: text_encoder/config.json d_model = {TextEncoderConfig.d_model} but transformer/config.json text_dim = {t.text_dim} ({Folder.Path}); the components come from different models");
        if (VaeConfig is { } vae)
        {
            if (vae.z_dim != t.in_channels)
                throw new VDiTLensException(
                    $"component sizes do not match: vae/config.json z_dim = {vae.z_dim} but transformer/config.json in_channels = {t.in_channels} ({Folder.Path})");
            if (vae.z_dim != t.out_channels)
                throw new VDiTLensException(
                    $"component sizes do not match: vae/config.json z_dim = {vae.z_dim} but transformer/config.json out_channels = {t.out_channels} ({Folder.Path})");
        }
        else if (t.in_channels != 3 || t.out_channels != 3)
        {
            throw new VDiTLensException(
                $"{transformerConfig}: in_channels = {t.in_channels}, out_channels = {t.out_channels}, but a pipeline without a vae generates RGB pixels directly and needs 3 and 3; add the vae component to {IndexFile}");
        }
    }
}
