using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Attention;
using VDiTLens.IO;
using VDiTLens.Models.Common;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.Models.Llama;

/// <summary>
/// transformers' LlamaModel (decoder stack without the LM head): embed_tokens, layers, final norm. Positions are
/// 0..L−1 (no KV cache); attention is causal and padding keys (attention_mask 0) are masked, as transformers does;
/// a query row left with no key at all (a left-padded position) attends itself, so it never sees an empty key set.
/// </summary>
public sealed class LlamaModel : nn.Module
{
    public LlamaConfig Config { get; }
    public AttentionSeam Seam { get; } = new();
    public IReadOnlyList<AttentionSite> Sites { get; }
    public Embedding embed_tokens;
    public ModuleList<LlamaDecoderLayer> layers;
    public RmsNorm norm;

    /// <summary>Optional observer of the residual stream: <c>embed_tokens</c> and <c>layers.{i}</c> outputs [B, L, hidden] (detached copies the observer owns).</summary>
    public Action<string, Tensor>? LayerOutputs { get; set; }

    public LlamaModel(LlamaConfig config, Device device, ScalarType dtype) : base("LlamaModel")
    {
        Config = config;
        register_module("embed_tokens", embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size, device: device, dtype: dtype));
        layers = new ModuleList<LlamaDecoderLayer>();
        for (int i = 0; i < config.num_hidden_layers; i++) layers.Add(new LlamaDecoderLayer(config, i, Seam, device, dtype));
        register_module("layers", layers);
        register_module("norm", norm = new RmsNorm(config.hidden_size, config.rms_norm_eps, device, dtype, precision: RmsNormPrecision.Float32NormaliseThenGain));
        Sites = layers.Select(l => l.self_attn.Site).ToList();
    }

    /// <summary>A bare <c>LlamaModel</c> checkpoint folder (weights named embed_tokens.*, layers.*, norm.*), in evaluation mode.</summary>
    public static LlamaModel Load(ModelFolder folder, ComputeOptions options) =>
        WeightLoader.LoadFolder(new LlamaModel(LlamaConfig.Read(folder), options.Device, options.DType), folder,
            ignoreUnexpected: name => name.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal));

    /// <param name="inputIds">int64 [B, L]</param>
    /// <param name="attentionMask">optional [B, L], 1 for real tokens and 0 for padding</param>
    /// <returns>last hidden state [B, L, hidden] after the final norm</returns>
    public Tensor Forward(Tensor inputIds, Tensor? attentionMask = null) => Run(inputIds, attentionMask, layers.Count, finalNorm: true);

    /// <summary>
    /// transformers' <c>hidden_states[-(skip + 1)]</c> of <c>output_hidden_states=True</c>: with <paramref name="skip"/> 0
    /// the normed last hidden state, otherwise the residual stream after the first <c>num_hidden_layers − skip</c> layers
    /// (the later layers are not run).
    /// </summary>
    public Tensor HiddenStateFromEnd(Tensor inputIds, Tensor? attentionMask, int skip)
    {
        if (skip < 0 || skip > layers.Count)
            throw new VDiTLensException($"hidden state {skip} from the end does not exist: the model has {layers.Count} layers (hidden_states has {layers.Count + 1} entries)");
        return skip == 0 ? Forward(inputIds, attentionMask) : Run(inputIds, attentionMask, layers.Count - skip, finalNorm: false);
    }

    private Tensor Run(Tensor inputIds, Tensor? attentionMask, int layerCount, bool finalNorm)
    {
        if (inputIds.dim() != 2) throw new VDiTLensException($"input_ids must be [batch, length]; got [{string.Join(", ", inputIds.shape)}]");
        using var scope = torch.NewDisposeScope();
        long b = inputIds.shape[0], l = inputIds.shape[1];
        var device = embed_tokens.weight!.device;
        var x = embed_tokens.forward(inputIds.to(device));
        var rotary = LlamaRotaryEmbedding.Tables(l, Config.HeadDim, Config.rope_theta, device, x.dtype);
        var causal = torch.ones(l, l, dtype: ScalarType.Bool, device: device).tril().view(1, 1, l, l);
        Tensor? valid = null;
        var mask = causal;
        if (attentionMask is not null)
        {
            valid = attentionMask.to(device).ne(0);
            var eye = torch.eye(l, dtype: ScalarType.Bool, device: device).view(1, 1, l, l);
            mask = causal.logical_and(valid.view(b, 1, 1, l));
            mask = mask.logical_or(eye.logical_and(mask.any(-1, keepdim: true).logical_not()));
        }
        var layout = TokenLayout.Text(l, valid);
        Report("embed_tokens", x);
        for (int i = 0; i < layerCount; i++)
        {
            x = layers[i].Forward(x, rotary, mask, layout);
            Report($"layers.{i}", x);
        }
        return (finalNorm ? norm.forward(x) : x).MoveToOuterDisposeScope();
    }

    private void Report(string key, Tensor x)
    {
        if (LayerOutputs is { } observer) observer(key, x.detach().clone().DetachFromDisposeScope());
    }
}
