using VDiTLens.IO;
using VDiTLens.Models.HunyuanVideo;
using VDiTLens.Models.HunyuanVideo.Vae;
using VDiTLens.Models.Llama;
using VDiTLens.Text;

namespace VDiTLens.Pipelines;

/// <summary>
/// A diffusers <c>HunyuanVideoPipeline</c> folder (hunyuanvideo-community/HunyuanVideo layout), checked before any
/// weight is read: the seven components, their classes, and that their sizes fit together.
/// </summary>
public sealed class HunyuanVideoPipelineFolder
{
    public const string PipelineClass = "HunyuanVideoPipeline";
    public static readonly string[] RequiredComponents = { "transformer", "vae", "text_encoder", "tokenizer", "text_encoder_2", "tokenizer_2", "scheduler" };
    private const string TransformerClass = "HunyuanVideoTransformer3DModel";
    private const string VaeClass = "AutoencoderKLHunyuanVideo";
    private const string SchedulerClass = "FlowMatchEulerDiscreteScheduler";

    public PipelineFolder Folder { get; }
    public ModelFolder Transformer { get; }
    public HunyuanVideoConfig TransformerConfig { get; }
    public ModelFolder TextEncoder { get; }
    public LlamaConfig TextEncoderConfig { get; }
    public ModelFolder TextEncoder2 { get; }
    public ClipTextConfig TextEncoder2Config { get; }
    public string TokenizerPath { get; }
    public string Tokenizer2Path { get; }
    public string SchedulerPath { get; }
    public ModelFolder Vae { get; }
    public HunyuanVideoVaeConfig VaeConfig { get; }

    private HunyuanVideoPipelineFolder(string path)
    {
        Folder = PipelineFolder.OpenPipeline(path);
        if (Folder.ClassName != PipelineClass)
            throw new VDiTLensException($"{Path.Combine(Folder.Path, "model_index.json")}: _class_name '{Folder.ClassName ?? "missing"}' is not {PipelineClass}");
        Folder.RequireComponents(PipelineClass, RequiredComponents);
        Transformer = Folder.OpenComponent("transformer", TransformerClass);
        TransformerConfig = HunyuanVideoConfig.Read(Transformer);
        if (TransformerConfig.image_condition_type is { } image)
            throw new VDiTLensException($"{Transformer.Path}/config.json: image_condition_type '{image}' is an image-to-video transformer; {PipelineClass} is text-to-video");
        TextEncoder = Folder.OpenComponent("text_encoder", "LlamaModel");
        TextEncoderConfig = LlamaConfig.Read(TextEncoder);
        TextEncoder2 = Folder.OpenComponent("text_encoder_2", "CLIPTextModel");
        TextEncoder2Config = ClipTextConfig.Read(TextEncoder2);
        TokenizerPath = Folder.ComponentPath("tokenizer");
        Tokenizer2Path = Folder.ComponentPath("tokenizer_2");
        SchedulerPath = Folder.SchedulerPath(PipelineClass, new[] { SchedulerClass });
        Vae = Folder.OpenComponent("vae", VaeClass);
        VaeConfig = HunyuanVideoVaeConfig.Read(Vae);
        CheckSizes();
    }

    public static HunyuanVideoPipelineFolder Open(string path) => new(path);

    private void CheckSizes()
    {
        var t = TransformerConfig;
        void Mismatch(string a, int va, string b, int vb) => ComponentSizes.Require(Folder.Path, a, va, b, vb);
        Mismatch("text_encoder/config.json hidden_size", TextEncoderConfig.hidden_size, "transformer/config.json text_embed_dim", t.text_embed_dim);
        Mismatch("text_encoder_2/config.json hidden_size", TextEncoder2Config.hidden_size, "transformer/config.json pooled_projection_dim", t.pooled_projection_dim);
        Mismatch("vae/config.json latent_channels", VaeConfig.latent_channels, "transformer/config.json in_channels", t.in_channels);
        Mismatch("vae/config.json latent_channels", VaeConfig.latent_channels, "transformer/config.json out_channels", t.out_channels);
        if (TextEncoderConfig.num_hidden_layers <= HunyuanVideoPipeline.HiddenStateSkipLayer)
            throw new VDiTLensException(
                $"{TextEncoder.Path}/config.json: num_hidden_layers = {TextEncoderConfig.num_hidden_layers}; the pipeline takes the hidden state {HunyuanVideoPipeline.HiddenStateSkipLayer} layers before the last, so it needs more layers");
    }
}
