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
        Folder = PipelineFolder.OpenPipeline(path);
        if (Folder.ClassName != PipelineClass)
            throw new VDiTLensException($"{IndexFile}: _class_name '{Folder.ClassName ?? "missing"}' is not {PipelineClass}");
        Folder.RequireComponents(PipelineClass, RequiredComponents);
        ForceZerosForEmptyPrompt = Folder.Index["force_zeros_for_empty_prompt"] is JsonValue f && f.GetValue<bool>();
        Transformer = Folder.OpenComponent("transformer", TransformerClass);
        TransformerConfig = MochiConfig.Read(Transformer);
        TextEncoder = ModelFolder.Open(Folder.ComponentPath("text_encoder"));
        TextEncoderConfig = T5EncoderConfig.Read(TextEncoder);
        TokenizerPath = Folder.ComponentPath("tokenizer");
        SchedulerPath = Folder.SchedulerPath(PipelineClass, new[] { SchedulerClass }, ", which takes its sigma schedule");
        Vae = Folder.OpenComponent("vae", VaeClass);
        VaeConfig = MochiVaeConfig.Read(Vae);
        ComponentSizes.RequireT5AndLatents(Folder.Path, TextEncoderConfig.d_model, TransformerConfig.text_embed_dim,
            VaeConfig.latent_channels, TransformerConfig.in_channels, TransformerConfig.out_channels);
    }

    public static MochiPipelineFolder Open(string path) => new(path);
}
