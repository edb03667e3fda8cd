using System.Text.Json.Nodes;
using VDiTLens.IO;
using VDiTLens.Models.Wan;
using VDiTLens.Models.Wan.Vae;
using VDiTLens.Schedulers;
using VDiTLens.Text;

namespace VDiTLens.Pipelines;

/// <summary>
/// A diffusers <c>WanPipeline</c> or <c>WanImageToVideoPipeline</c> folder, checked before any weight is read: the
/// components model_index.json names, their classes, and that their sizes fit together. <see cref="VaePath"/> is null
/// for a pixel-space pipeline (model_index.json's "vae" null or absent): the transformer's latents are then the video
/// itself. Wan2.2 layouts: A14B has <c>transformer_2</c> (the low-noise expert) and <c>boundary_ratio</c>; TI2V-5B sets
/// <c>expand_timesteps</c>. Image-to-video (<see cref="ImageToVideoClass"/>) without expand_timesteps takes the image
/// as extra transformer input channels (<see cref="ConcatImageCondition"/>: Wan2.1 I2V, Wan2.2 I2V-A14B).
/// </summary>
public sealed class WanPipelineFolder
{
    public const string PipelineClass = "WanPipeline";
    public const string ImageToVideoClass = "WanImageToVideoPipeline";
    public static readonly string[] PipelineClasses = { PipelineClass, ImageToVideoClass };
    public static readonly string[] RequiredComponents = { "transformer", "text_encoder", "tokenizer", "scheduler" };
    public static readonly string[] SupportedSchedulers = { "UniPCMultistepScheduler", "FlowMatchEulerDiscreteScheduler" };
    private const string TransformerClass = "WanTransformer3DModel";
    private const string VaeClass = "AutoencoderKLWan";
    private const string ImageEncoderClass = "CLIPVisionModel";
    private const string ImageProcessorClass = "CLIPImageProcessor";

    public PipelineFolder Folder { get; }
    /// <summary>model_index.json's <c>_class_name</c>: <see cref="PipelineClass"/> or <see cref="ImageToVideoClass"/>.</summary>
    public string ClassName { get; }
    public string IndexFile => Path.Combine(Folder.Path, "model_index.json");
    public ModelFolder Transformer { get; }
    public WanConfig TransformerConfig { get; }
    public ModelFolder TextEncoder { get; }
    public T5EncoderConfig TextEncoderConfig { get; }
    public string TokenizerPath { get; }
    public string SchedulerPath { get; }
    public string? VaePath { get; }
    public WanVaeConfig? VaeConfig { get; }

    /// <summary>Wan2.1 I2V: the CLIP vision tower whose penultimate hidden state the transformer's image embedder takes; null otherwise.</summary>
    public ModelFolder? ImageEncoder { get; }
    public ClipVisionConfig? ImageEncoderConfig { get; }
    /// <summary>Wan2.1 I2V: the folder of the CLIPImageProcessor's preprocessor_config.json; null otherwise.</summary>
    public string? ImageProcessorPath { get; }

    /// <summary>The low-noise expert of a Wan2.2 A14B pipeline; null with one transformer.</summary>
    public ModelFolder? Transformer2 { get; }
    public WanConfig? Transformer2Config { get; }

    /// <summary>
    /// model_index.json's <c>boundary_ratio</c>: <c>transformer</c> denoises timesteps t ≥ boundary_ratio ·
    /// num_train_timesteps, <c>transformer_2</c> the rest. Null with one transformer.
    /// </summary>
    public double? BoundaryRatio { get; }

    /// <summary>model_index.json's <c>expand_timesteps</c> (Wan2.2 TI2V-5B): the transformer gets one timestep per token.</summary>
    public bool ExpandTimesteps { get; }

    /// <summary>A WanImageToVideoPipeline folder: every generation is conditioned on <see cref="GenerationRequest.Image"/>.</summary>
    public bool IsImageToVideo => ClassName == ImageToVideoClass;

    /// <summary>
    /// WanImageToVideoPipeline without expand_timesteps: the transformer input is cat(latents, first-frame mask,
    /// image latents) on the channel axis (in_channels = 2 · z_dim + the VAE's temporal scale), see <see cref="WanImageCondition"/>.
    /// </summary>
    public bool ConcatImageCondition => IsImageToVideo && !ExpandTimesteps;

    /// <summary>The scheduler's <c>num_train_timesteps</c>, which scales <see cref="BoundaryRatio"/>.</summary>
    public int NumTrainTimesteps { get; }

    private WanPipelineFolder(string path)
    {
        Folder = PipelineFolder.OpenPipeline(path);
        ClassName = Folder.ClassName ?? "";
        CheckIndex();
        Folder.RequireComponents(ClassName, RequiredComponents, " (vae optional)");
        Transformer = Folder.OpenComponent("transformer", TransformerClass);
        TransformerConfig = WanConfig.Read(Transformer);
        TextEncoder = ModelFolder.Open(Folder.ComponentPath("text_encoder"));
        TextEncoderConfig = T5EncoderConfig.Read(TextEncoder);
        TokenizerPath = Folder.ComponentPath("tokenizer");
        SchedulerPath = Folder.SchedulerPath(ClassName, SupportedSchedulers);
        NumTrainTimesteps = ReadNumTrainTimesteps(SchedulerPath);
        BoundaryRatio = Folder.Index["boundary_ratio"] is JsonValue b ? b.GetValue<double>() : null;
        ExpandTimesteps = Folder.Index["expand_timesteps"] is JsonValue e && e.GetValue<bool>();
        if (Folder.Components.ContainsKey("transformer_2"))
        {
            Transformer2 = Folder.OpenComponent("transformer_2", TransformerClass);
            Transformer2Config = WanConfig.Read(Transformer2);
        }
        if (Folder.Components.ContainsKey("vae"))
        {
            VaePath = Folder.ComponentPath("vae");
            VaeConfig = WanVaeConfig.Read(Folder.OpenComponent("vae", VaeClass));
        }
        if (TransformerConfig.HasImageConditioning)
        {
            // the image embeddings come from the image encoder, which only WanImageToVideoPipeline runs
            if (!IsImageToVideo)
                throw new VDiTLensException($"{Path.Combine(Transformer.Path, "config.json")}: image_dim = {TransformerConfig.image_dim} (a Wan2.1 I2V transformer) in a {ClassName}; its model_index.json must be a {ImageToVideoClass} with image_encoder and image_processor");
            Folder.RequireComponents(ClassName, new[] { "image_encoder", "image_processor" }, " (the transformer sets image_dim)");
            ImageEncoder = ModelFolder.Open(Folder.ComponentPath("image_encoder"));
            ImageEncoderConfig = ClipVisionConfig.Read(ImageEncoder);
            ImageProcessorPath = Folder.ComponentPath("image_processor");
        }
        CheckSizes();
    }

    public static WanPipelineFolder Open(string path) => new(path);

    private void CheckIndex()
    {
        if (!PipelineClasses.Contains(ClassName))
            throw new VDiTLensException($"{IndexFile}: _class_name '{Folder.ClassName ?? "missing"}' is not supported (supported: {string.Join(", ", PipelineClasses)})");
        bool hasSecond = Folder.Components.ContainsKey("transformer_2");
        if (Folder.Index["boundary_ratio"] is JsonValue b)
        {
            if (b.GetValueKind() != System.Text.Json.JsonValueKind.Number || b.GetValue<double>() is not (>= 0 and <= 1))
                throw new VDiTLensException($"{IndexFile}: field 'boundary_ratio' must be a number in [0, 1] (Wan2.2 A14B: 0.875 text-to-video, 0.9 image-to-video)");
            if (!hasSecond)
                throw new VDiTLensException($"{IndexFile}: field 'boundary_ratio' is set but component 'transformer_2' (the low-noise expert) is missing; add it or set boundary_ratio to null");
        }
        else if (hasSecond)
            throw new VDiTLensException($"{IndexFile}: component 'transformer_2' is listed but field 'boundary_ratio' is null, so it would never run; set boundary_ratio (Wan2.2 A14B: 0.875) or transformer_2 to [null, null]");
        if (Folder.Index["expand_timesteps"] is JsonValue e && e.GetValueKind() is not (System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False))
            throw new VDiTLensException($"{IndexFile}: field 'expand_timesteps' must be true or false");
        foreach (var (name, (_, cls)) in Folder.Components)
        {
            string expected = name switch
            {
                "transformer" or "transformer_2" => TransformerClass,
                "vae" => VaeClass,
                "image_encoder" => ImageEncoderClass,
                "image_processor" => ImageProcessorClass,
                _ => "",
            };
            if (expected != "" && cls != expected)
                throw new VDiTLensException($"{IndexFile}: component '{name}' has class '{cls}'; a {ClassName} supports only {expected}");
        }
    }


    private static int ReadNumTrainTimesteps(string schedulerPath)
    {
        string file = Path.Combine(schedulerPath, "scheduler_config.json");
        var node = JsonNode.Parse(File.ReadAllText(file))?["num_train_timesteps"];
        if (node is null) return 1000;
        return node is JsonValue v && v.TryGetValue(out int n) && n > 0 ? n
            : throw new VDiTLensException($"{file}: field 'num_train_timesteps' must be a positive integer");
    }

    private void CheckSizes()
    {
        var t = TransformerConfig;
        string transformerConfig = Path.Combine(Transformer.Path, "config.json");
        if (Transformer2Config is { } t2)
        {
            var mismatch = new (string Field, object A, object B)[]
            {
                ("in_channels", t.in_channels, t2.in_channels), ("out_channels", t.out_channels, t2.out_channels),
                ("text_dim", t.text_dim, t2.text_dim), ("num_layers", t.num_layers, t2.num_layers),
                ("image_dim", t.image_dim?.ToString() ?? "null", t2.image_dim?.ToString() ?? "null"),
                ("patch_size", string.Join(",", t.patch_size), string.Join(",", t2.patch_size)),
            }.FirstOrDefault(m => !m.A.Equals(m.B));
            if (mismatch.Field is not null)
                throw new VDiTLensException(
                    $"component sizes do not match: transformer/config.json {mismatch.Field} = {mismatch.A} but transformer_2/config.json {mismatch.Field} = {mismatch.B} ({Folder.Path}); the two experts must share their input, output and layer layout");
        }
        if (ExpandTimesteps && (t.patch_size[0] != 1 || t.patch_size[1] != 2 || t.patch_size[2] != 2))
            throw new VDiTLensException(
                $"{transformerConfig}: patch_size = [{string.Join(", ", t.patch_size)}], but expand_timesteps (per-token timesteps) takes one timestep per 1×2×2 patch as diffusers lays them out; it needs [1, 2, 2]");
        if (ImageEncoderConfig is { } image && image.hidden_size != t.image_dim)
            throw new VDiTLensException(
                $"component sizes do not match: image_encoder/config.json hidden_size = {image.hidden_size} but transformer/config.json image_dim = {t.image_dim} ({Folder.Path}); the components come from different models");
        if (TextEncoderConfig.d_model != t.text_dim)
            throw new VDiTLensException(
                $"component sizes do not match: text_encoder/config.json d_model = {TextEncoderConfig.d_model} but transformer/config.json text_dim = {t.text_dim} ({Folder.Path}); the components come from different models");
        if (ConcatImageCondition)
        {
            if (VaeConfig is not { } v)
                throw new VDiTLensException($"{IndexFile}: a {ImageToVideoClass} needs the vae component (the image is encoded into the transformer's condition channels)");
            int expected = 2 * v.z_dim + v.TemporalScale;
            if (t.in_channels != expected || t.out_channels != v.z_dim)
                throw new VDiTLensException(
                    $"component sizes do not match: transformer/config.json in_channels = {t.in_channels}, out_channels = {t.out_channels}, but an image-to-video transformer with vae/config.json z_dim = {v.z_dim} takes {expected} (latents, {v.TemporalScale} first-frame mask channels, image latents) and returns {v.z_dim} ({Folder.Path})");
        }
        else if (VaeConfig is { } vae)
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
