using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Attention;
using VDiTLens.IO;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.Text;

/// <summary><c>text_model.embeddings</c>: token embedding plus a learned absolute position embedding.</summary>
public sealed class ClipTextEmbeddings : nn.Module
{
    public Embedding token_embedding, position_embedding;

    public ClipTextEmbeddings(ClipTextConfig config, Device device, ScalarType dtype) : base("CLIPTextEmbeddings")
    {
        register_module("token_embedding", token_embedding = nn.Embedding(config.vocab_size, config.hidden_size, device: device, dtype: dtype));
        register_module("position_embedding", position_embedding = nn.Embedding(config.max_position_embeddings, config.hidden_size, device: device, dtype: dtype));
    }

    public Tensor Forward(Tensor ids)
    {
        using var scope = torch.NewDisposeScope();
        var positions = torch.arange(ids.shape[1], dtype: ScalarType.Int64, device: ids.device).unsqueeze(0);
        return (token_embedding.forward(ids) + position_embedding.forward(positions)).MoveToOuterDisposeScope();
    }
}

/// <summary><c>text_model.encoder</c> (or <c>vision_model.encoder</c>): the stack of <c>layers</c>.</summary>
public sealed class ClipEncoder : nn.Module
{
    public ModuleList<ClipEncoderLayer> layers;

    public ClipEncoder(ClipTextConfig config, AttentionSeam seam, Device device, ScalarType dtype, string tower = "text_model") : base("CLIPEncoder")
    {
        layers = new ModuleList<ClipEncoderLayer>();
        for (int i = 0; i < config.num_hidden_layers; i++) layers.Add(new ClipEncoderLayer(config, i, seam, device, dtype, tower));
        register_module("layers", layers);
    }
}

/// <summary><c>text_model</c>: embeddings, encoder, final_layer_norm.</summary>
public sealed class ClipTextTransformer : nn.Module
{
    public ClipTextEmbeddings embeddings;
    public ClipEncoder encoder;
    public LayerNorm final_layer_norm;

    public ClipTextTransformer(ClipTextConfig config, AttentionSeam seam, Device device, ScalarType dtype) : base("CLIPTextTransformer")
    {
        register_module("embeddings", embeddings = new ClipTextEmbeddings(config, device, dtype));
        register_module("encoder", encoder = new ClipEncoder(config, seam, device, dtype));
        register_module("final_layer_norm", final_layer_norm = nn.LayerNorm(config.hidden_size, config.layer_norm_eps, device: device, dtype: dtype));
    }
}

/// <summary>What <c>CLIPTextModel</c> returns. <see cref="HiddenStates"/> is filled only when asked for.</summary>
public sealed record ClipTextOutput(Tensor LastHiddenState, Tensor PoolerOutput, IReadOnlyList<Tensor> HiddenStates) : IDisposable
{
    public void Dispose()
    {
        LastHiddenState.Dispose();
        PoolerOutput.Dispose();
        foreach (var h in HiddenStates) h.Dispose();
    }
}

/// <summary>
/// transformers' <c>CLIPTextModel</c> (the text tower HunyuanVideo uses as <c>text_encoder_2</c>) with the
/// checkpoint's parameter names under <c>text_model.</c>. Attention is causal; with an attention mask, padding keys
/// are masked too, except that every query may attend itself (a padded first token never sees an empty key set).
/// </summary>
public sealed class ClipTextModel : nn.Module, ITextEncoder
{
    private const string Prefix = "text_model.";

    public ClipTextConfig Config { get; }
    public AttentionSeam Seam { get; } = new();
    public IReadOnlyList<AttentionSite> Sites { get; }
    public string ClassName => "CLIPTextModel";
    public long HiddenSize => Config.hidden_size;
    public Device Device { get; }

    public ClipTextTransformer text_model;

    public ClipTextModel(ClipTextConfig config, Device device, ScalarType dtype) : base("CLIPTextModel")
    {
        Config = config;
        Device = device;
        register_module("text_model", text_model = new ClipTextTransformer(config, Seam, device, dtype));
        Sites = text_model.encoder.layers.Select(l => l.self_attn.Site).ToList();
    }

    public static ClipTextModel Load(ModelFolder folder, ComputeOptions options)
    {
        var model = new ClipTextModel(ClipTextConfig.Read(folder), options.Device, options.DType);
        ClipWeights.Load(model, folder, Prefix);
        return model;
    }

    public Tensor Encode(Tensor inputIds, Tensor attentionMask)
    {
        using var output = Forward(inputIds, attentionMask);
        return output.LastHiddenState.detach().clone();
    }

    /// <param name="inputIds">int64 [B, L], L ≤ max_position_embeddings</param>
    /// <param name="attentionMask">optional [B, L], 1 for real tokens and 0 for padding (HunyuanVideo passes none)</param>
    /// <param name="outputHiddenStates">also return transformers' <c>hidden_states</c>: the embeddings and every layer's output (before the final norm)</param>
    public ClipTextOutput Forward(Tensor inputIds, Tensor? attentionMask = null, bool outputHiddenStates = false)
    {
        if (inputIds.dim() != 2)
            throw new VDiTLensException($"{ClassName}: input_ids must be [batch, length]; got [{string.Join(", ", inputIds.shape)}]");
        long b = inputIds.shape[0], length = inputIds.shape[1];
        if (length > Config.max_position_embeddings)
            throw new VDiTLensException($"{ClassName}: {length} tokens exceed max_position_embeddings = {Config.max_position_embeddings}; truncate the prompt");
        if (attentionMask is not null && !attentionMask.shape.SequenceEqual(inputIds.shape))
            throw new VDiTLensException($"{ClassName}: attention_mask [{string.Join(", ", attentionMask.shape)}] must match input_ids [{string.Join(", ", inputIds.shape)}]");
        using var scope = torch.NewDisposeScope();
        var ids = inputIds.to(ScalarType.Int64).to(Device);
        var mask = torch.ones(length, length, dtype: ScalarType.Bool, device: Device).tril().view(1, 1, length, length);
        Tensor? valid = null;
        if (attentionMask is not null)
        {
            valid = attentionMask.to(Device).ne(0);
            var self = torch.eye(length, dtype: ScalarType.Bool, device: Device).view(1, 1, length, length);
            mask = mask.logical_and(valid.view(b, 1, 1, length)).logical_or(self);
        }
        var layout = TokenLayout.Text(length, valid);

        var hidden = new List<Tensor>();
        var x = text_model.embeddings.Forward(ids);
        if (outputHiddenStates) hidden.Add(x);
        foreach (var layer in text_model.encoder.layers)
        {
            x = layer.Forward(x, mask, layout);
            if (outputHiddenStates) hidden.Add(x);
        }
        var last = text_model.final_layer_norm.forward(x);
        var eosRows = Config.LegacyPooling ? ids.argmax(-1) : ids.eq(Config.eos_token_id).to(ScalarType.Int32).argmax(-1);
        var pooled = last[torch.arange(b, dtype: ScalarType.Int64, device: Device), eosRows];
        return new ClipTextOutput(last.MoveToOuterDisposeScope(), pooled.MoveToOuterDisposeScope(),
            hidden.Select(h => h.MoveToOuterDisposeScope()).ToList());
    }
}
