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
        Folder = PipelineFolder.OpenPipeline(path);
        if (Folder.ClassName != PipelineClass)
            throw new VDiTLensException($"{IndexFile}: _class_name '{Folder.ClassName ?? "missing"}' is not {PipelineClass}");
        Folder.RequireComponents(PipelineClass, RequiredComponents);
        Transformer = Folder.OpenComponent("transformer", TransformerClass);
        TransformerConfig = CogVideoXConfig.Read(Transformer);
        TextEncoder = ModelFolder.Open(Folder.ComponentPath("text_encoder"));
        TextEncoderConfig = T5EncoderConfig.Read(TextEncoder);
        TokenizerPath = Folder.ComponentPath("tokenizer");
        SchedulerPath = Folder.SchedulerPath(PipelineClass, SupportedSchedulers);
        Vae = Folder.OpenComponent("vae", VaeClass);
        VaeConfig = CogVideoXVaeConfig.Read(Vae);
        ComponentSizes.RequireT5AndLatents(Folder.Path, TextEncoderConfig.d_model, TransformerConfig.text_embed_dim,
            VaeConfig.latent_channels, TransformerConfig.in_channels, TransformerConfig.out_channels);
    }

    public static CogVideoXPipelineFolder Open(string path) => new(path);
}
