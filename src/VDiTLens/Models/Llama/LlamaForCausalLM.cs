using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Attention;
using VDiTLens.IO;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.Models.Llama;

/// <summary>
/// transformers' LlamaForCausalLM: <c>model</c> (<see cref="LlamaModel"/>) and <c>lm_head</c>; with
/// tie_word_embeddings the head reuses model.embed_tokens.weight. Loads a Hugging Face folder (config.json and
/// model.safetensors or a sharded index) by parameter name; a bare LlamaModel checkpoint (no "model." prefix) loads too.
/// </summary>
public sealed class LlamaForCausalLM : nn.Module
{
    public LlamaConfig Config { get; }
    public LlamaModel model;
    public Linear? lm_head;

    public AttentionSeam Seam => model.Seam;

    public LlamaForCausalLM(LlamaConfig config, Device device, ScalarType dtype) : base("LlamaForCausalLM")
    {
        Config = config;
        register_module("model", model = new LlamaModel(config, device, dtype));
        if (!config.tie_word_embeddings)
            register_module("lm_head", lm_head = nn.Linear(config.hidden_size, config.vocab_size, hasBias: false, device: device, dtype: dtype));
    }

    public static LlamaForCausalLM Load(string path, ComputeOptions options)
    {
        var folder = ModelFolder.Open(path);
        var config = LlamaConfig.Read(folder);
        var lm = new LlamaForCausalLM(config, options.Device, options.DType);
        using var weights = folder.OpenWeights();
        static bool RotaryBuffer(string name) => name.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal);
        if (weights.Names.Contains("embed_tokens.weight"))
        {
            if (!config.tie_word_embeddings)
                throw new VDiTLensException($"{folder.Path}: a bare LlamaModel checkpoint has no lm_head; set tie_word_embeddings or load a LlamaForCausalLM checkpoint");
            WeightLoader.Load(lm.model, weights, RotaryBuffer);
        }
        else
        {
            WeightLoader.Load(lm, weights, name => RotaryBuffer(name) || (config.tie_word_embeddings && name == "lm_head.weight"));
        }
        lm.eval();
        return lm;
    }

    /// <summary>Logits [B, L, vocab].</summary>
    public Tensor Forward(Tensor inputIds, Tensor? attentionMask = null)
    {
        using var scope = torch.NewDisposeScope();
        var hidden = model.Forward(inputIds, attentionMask);
        var logits = lm_head is null ? torch.matmul(hidden, model.embed_tokens.weight!.t()) : lm_head.forward(hidden);
        return logits.MoveToOuterDisposeScope();
    }
}
