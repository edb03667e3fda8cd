using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Attention;
using VDiTLens.IO;
using VDiTLens.Models.Common;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.Text;

/// <summary>
/// <c>vision_model.embeddings</c>: the class embedding followed by one token per patch (a bias-free convolution of
/// stride patch_size), plus a learned absolute position embedding.
/// </summary>
public sealed class ClipVisionEmbeddings : nn.Module
{
    private readonly ClipVisionConfig _config;
    public Parameter class_embedding;
    public Conv2d patch_embedding;
    public Embedding position_embedding;

    public ClipVisionEmbeddings(ClipVisionConfig config, Device device, ScalarType dtype) : base("CLIPVisionEmbeddings")
    {
        _config = config;
        register_parameter("class_embedding", class_embedding = new Parameter(torch.randn(config.hidden_size, dtype: dtype, device: device)));
        register_module("patch_embedding", patch_embedding = nn.Conv2d(config.num_channels, config.hidden_size, config.patch_size,
            stride: config.patch_size, bias: false, device: device, dtype: dtype));
        register_module("position_embedding", position_embedding = nn.Embedding(config.NumPositions, config.hidden_size, device: device, dtype: dtype));
    }

    /// <param name="pixels">[B, num_channels, image_size, image_size]</param>
    /// <returns>[B, 1 + patches, hidden]</returns>
    public Tensor Forward(Tensor pixels)
    {
        using var scope = torch.NewDisposeScope();
        long b = pixels.shape[0];
        var patches = CpuSafeConvolution.Conv2d(patch_embedding, pixels.to(patch_embedding.weight!.dtype), stride: new long[] { _config.patch_size, _config.patch_size }).flatten(2).transpose(1, 2);
        var cls = class_embedding.view(1, 1, -1).expand(b, 1, -1);
        var positions = torch.arange(_config.NumPositions, dtype: ScalarType.Int64, device: pixels.device).unsqueeze(0);
        return (torch.cat(new[] { cls, patches }, 1) + position_embedding.forward(positions)).MoveToOuterDisposeScope();
    }
}

/// <summary><c>vision_model</c>: embeddings, pre_layrnorm (transformers' spelling), encoder, post_layernorm.</summary>
public sealed class ClipVisionTransformer : nn.Module
{
    public ClipVisionEmbeddings embeddings;
    public LayerNorm pre_layrnorm;
    public ClipEncoder encoder;
    public LayerNorm post_layernorm;

    public ClipVisionTransformer(ClipVisionConfig config, AttentionSeam seam, Device device, ScalarType dtype) : base("CLIPVisionTransformer")
    {
        register_module("embeddings", embeddings = new ClipVisionEmbeddings(config, device, dtype));
        register_module("pre_layrnorm", pre_layrnorm = nn.LayerNorm(config.hidden_size, config.layer_norm_eps, device: device, dtype: dtype));
        register_module("encoder", encoder = new ClipEncoder(config.Encoder, seam, device, dtype, "vision_model"));
        register_module("post_layernorm", post_layernorm = nn.LayerNorm(config.hidden_size, config.layer_norm_eps, device: device, dtype: dtype));
    }
}

/// <summary>
/// transformers' <c>CLIPVisionModel</c> (the image encoder of Wan2.1 I2V pipelines), parameter names identical to
/// its checkpoints. Attention goes through <see cref="Seam"/> (sites <c>vision_model.encoder.layers.{i}.self_attn</c>).
/// </summary>
public sealed class ClipVisionModel : nn.Module
{
    private const string Prefix = "vision_model.";

    public ClipVisionConfig Config { get; }
    public AttentionSeam Seam { get; }
    public IReadOnlyList<AttentionSite> Sites { get; }
    public string ClassName => "CLIPVisionModel";
    public Device Device { get; }
    public ClipVisionTransformer vision_model;

    public ClipVisionModel(ClipVisionConfig config, Device device, ScalarType dtype, AttentionSeam? seam = null) : base("CLIPVisionModel")
    {
        Config = config;
        Device = device;
        Seam = seam ?? new AttentionSeam();
        register_module("vision_model", vision_model = new ClipVisionTransformer(config, Seam, device, dtype));
        Sites = vision_model.encoder.layers.Select(l => l.self_attn.Site).ToList();
    }

    public static ClipVisionModel Load(ModelFolder folder, ComputeOptions options, AttentionSeam? seam = null)
    {
        var model = new ClipVisionModel(ClipVisionConfig.Read(folder), options.Device, options.DType, seam);
        ClipWeights.Load(model, folder, Prefix);
        return model;
    }

    /// <summary>
    /// transformers' <c>hidden_states</c> (output_hidden_states=True) up to layer <paramref name="layers"/>: the
    /// pre-layer-normed embeddings, then each layer's output, so <paramref name="layers"/> + 1 tensors [B, tokens, hidden].
    /// </summary>
    public IReadOnlyList<Tensor> HiddenStates(Tensor pixelValues, int? layers = null)
    {
        int count = layers ?? Config.num_hidden_layers;
        if (pixelValues.dim() != 4 || pixelValues.shape[1] != Config.num_channels || pixelValues.shape[2] != Config.image_size || pixelValues.shape[3] != Config.image_size)
            throw new VDiTLensException($"{ClassName}: pixel_values must be [batch, {Config.num_channels}, {Config.image_size}, {Config.image_size}] (the image processor's output); got [{string.Join(", ", pixelValues.shape)}]");
        if (count < 0 || count > Config.num_hidden_layers)
            throw new VDiTLensException($"{ClassName}: {count} layers asked for, the model has num_hidden_layers = {Config.num_hidden_layers}");
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var layout = TokenLayout.Text(Config.NumPositions);
        var x = vision_model.pre_layrnorm.forward(vision_model.embeddings.Forward(pixelValues.to(Device)));
        var states = new List<Tensor> { x };
        for (int i = 0; i < count; i++)
        {
            x = vision_model.encoder.layers[i].Forward(x, null, layout);
            states.Add(x);
        }
        foreach (var s in states) s.MoveToOuterDisposeScope();
        return states;
    }

    /// <summary>
    /// What WanImageToVideoPipeline's <c>encode_image</c> returns: <c>hidden_states[-2]</c>, the output of the
    /// second-to-last layer [B, tokens, hidden]. The last layer, whose output it discards, is not run.
    /// </summary>
    public Tensor PenultimateHiddenState(Tensor pixelValues)
    {
        var states = HiddenStates(pixelValues, Config.num_hidden_layers - 1);
        for (int i = 0; i < states.Count - 1; i++) states[i].Dispose();
        return states[^1];
    }
}
