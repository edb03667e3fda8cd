using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Attention;
using VDiTLens.IO;
using VDiTLens.Models.Common;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.Text;

/// <summary>The encoder stack under <c>encoder.</c>: <c>block.{i}</c> and <c>final_layer_norm</c>.</summary>
public sealed class T5Stack : nn.Module
{
    public ModuleList<T5Block> block;
    public RmsNorm final_layer_norm;

    public T5Stack(T5EncoderConfig config, AttentionSeam seam, Device device, ScalarType dtype) : base("T5Stack")
    {
        block = new ModuleList<T5Block>();
        for (int i = 0; i < config.num_layers; i++)
            block.Add(new T5Block(config, i, config.BiasInEveryLayer || i == 0, seam, device, dtype));
        register_module("block", block);
        register_module("final_layer_norm", final_layer_norm = new RmsNorm(config.d_model, config.layer_norm_epsilon, device, dtype, precision: RmsNormPrecision.Float32MeanSquare));
    }
}

/// <summary>
/// transformers' <c>T5EncoderModel</c> / <c>UMT5EncoderModel</c> with the checkpoint's parameter names
/// (<c>shared.weight</c>, <c>encoder.block.{i}.layer.{0,1}...</c>, <c>encoder.final_layer_norm.weight</c>).
/// <c>encoder.embed_tokens</c> is tied to <c>shared</c> and not a separate parameter.
/// </summary>
public sealed class T5EncoderModel : nn.Module, ITextEncoder
{
    private const string TiedEmbeddingName = "encoder.embed_tokens.weight";
    private readonly ScalarType _dtype;

    public T5EncoderConfig Config { get; }
    public AttentionSeam Seam { get; } = new();
    public IReadOnlyList<AttentionSite> Sites { get; }
    public string ClassName => Config.BiasInEveryLayer ? "UMT5EncoderModel" : "T5EncoderModel";
    public long HiddenSize => Config.d_model;
    public Device Device { get; }

    public Embedding shared;
    public T5Stack encoder;

    public T5EncoderModel(T5EncoderConfig config, Device device, ScalarType dtype) : base("T5EncoderModel")
    {
        Config = config;
        Device = device;
        _dtype = dtype;
        register_module("shared", shared = nn.Embedding(config.vocab_size, config.d_model, device: device, dtype: dtype));
        register_module("encoder", encoder = new T5Stack(config, Seam, device, dtype));
        Sites = encoder.block.Select(b => b.Attention.Site).ToList();
    }

    public static T5EncoderModel Load(ModelFolder folder, ComputeOptions options)
    {
        var model = new T5EncoderModel(T5EncoderConfig.Read(folder), options.Device, options.DType);
        using var weights = folder.OpenWeights();
        bool onlyTiedName = !weights.Names.Contains("shared.weight") && weights.Names.Contains(TiedEmbeddingName);
        WeightLoader.Load(model, weights,
            ignoreUnexpected: name => name == TiedEmbeddingName || name.StartsWith("decoder.", StringComparison.Ordinal) || name.StartsWith("lm_head.", StringComparison.Ordinal),
            optional: name => onlyTiedName && name == "shared.weight");
        if (onlyTiedName)
        {
            using var _ = torch.no_grad();
            using var value = weights.Load(TiedEmbeddingName, options.Device, options.DType);
            model.shared.weight!.copy_(value);
        }
        model.eval();
        return model;
    }

    public Tensor Encode(Tensor inputIds, Tensor attentionMask) => Forward(inputIds, attentionMask);

    /// <param name="hiddenStates">
    /// If given, receives transformers' <c>hidden_states</c> list: the embeddings, the output of every block but the
    /// last, and the final normed output.
    /// </param>
    public Tensor Forward(Tensor inputIds, Tensor attentionMask, IList<Tensor>? hiddenStates = null)
    {
        if (inputIds.dim() != 2 || !attentionMask.shape.SequenceEqual(inputIds.shape))
            throw new VDiTLensException($"{ClassName}: input_ids must be [batch, length] with an attention_mask of the same shape; got [{string.Join(", ", inputIds.shape)}] and [{string.Join(", ", attentionMask.shape)}]");
        using var scope = torch.NewDisposeScope();
        long length = inputIds.shape[1];
        var ids = inputIds.to(ScalarType.Int64).to(Device);
        var mask = attentionMask.to(Device);
        var layout = TokenLayout.Text(length, mask.gt(0));
        // transformers' extended mask: 0 for real keys, the dtype's lowest finite value for padding.
        var padding = ((1.0 - mask.to(_dtype)) * LowestFinite(_dtype)).view(mask.shape[0], 1, 1, length);

        var x = shared.forward(ids);
        Keep(hiddenStates, x);
        Tensor? bias = null;
        for (int i = 0; i < encoder.block.Count; i++)
        {
            var blk = encoder.block[i];
            if (blk.Attention.relative_attention_bias is not null)
                bias = blk.Attention.PositionBias(length) + padding;
            x = blk.Forward(x, bias!, layout);
            if (i < encoder.block.Count - 1) Keep(hiddenStates, x);
        }
        x = encoder.final_layer_norm.forward(x);
        Keep(hiddenStates, x);
        return x.MoveToOuterDisposeScope();
    }

    private static void Keep(IList<Tensor>? list, Tensor x)
    {
        if (list is null) return;
        list.Add(x.detach().clone().MoveToOuterDisposeScope());
    }

    private static double LowestFinite(ScalarType dtype) => dtype switch
    {
        ScalarType.Float64 => double.MinValue,
        ScalarType.Float32 => float.MinValue,
        ScalarType.BFloat16 => -3.3895313892515355e38,
        ScalarType.Float16 => -65504.0,
        _ => throw new VDiTLensException($"T5 encoder: dtype {dtype} is not supported"),
    };
}
