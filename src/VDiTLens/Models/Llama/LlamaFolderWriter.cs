using System.Text.Json.Nodes;
using VDiTLens.IO;

namespace VDiTLens.Models.Llama;

/// <summary>
/// Writes a transformers-style LlamaForCausalLM folder: <c>config.json</c> with transformers' field names and
/// <c>model.safetensors</c> with its parameter names (<c>model.layers.{i}.self_attn.q_proj.weight</c>, …,
/// <c>lm_head.weight</c>), the folder <see cref="LlamaForCausalLM.Load"/> and transformers' <c>from_pretrained</c> read.
/// </summary>
public static class LlamaFolderWriter
{
    public static void Write(string folder, LlamaForCausalLM lm, long? bosTokenId = null, long? eosTokenId = null, double initializerRange = 0.02)
    {
        Directory.CreateDirectory(folder);
        var c = lm.Config;
        var config = new JsonObject
        {
            ["architectures"] = new JsonArray("LlamaForCausalLM"),
            ["model_type"] = "llama",
            ["vocab_size"] = c.vocab_size,
            ["hidden_size"] = c.hidden_size,
            ["intermediate_size"] = c.intermediate_size,
            ["num_hidden_layers"] = c.num_hidden_layers,
            ["num_attention_heads"] = c.num_attention_heads,
            ["num_key_value_heads"] = c.num_key_value_heads,
            ["head_dim"] = c.HeadDim,
            ["hidden_act"] = "silu",
            ["max_position_embeddings"] = c.max_position_embeddings,
            ["rms_norm_eps"] = c.rms_norm_eps,
            ["rope_theta"] = c.rope_theta,
            ["rope_scaling"] = null,
            ["attention_bias"] = c.attention_bias,
            ["attention_dropout"] = 0.0,
            ["mlp_bias"] = c.mlp_bias,
            ["tie_word_embeddings"] = c.tie_word_embeddings,
            ["initializer_range"] = initializerRange,
            ["pretraining_tp"] = 1,
            ["bos_token_id"] = bosTokenId,
            ["eos_token_id"] = eosTokenId,
            ["torch_dtype"] = lm.model.embed_tokens.weight!.dtype.ToString().ToLowerInvariant(),
            ["use_cache"] = true,
        };
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        var weights = lm.state_dict().Where(kv => !(c.tie_word_embeddings && kv.Key == "lm_head.weight"));
        SafeTensorsWriter.Save(Path.Combine(folder, "model.safetensors"), weights.OrderBy(kv => kv.Key, StringComparer.Ordinal));
    }
}
