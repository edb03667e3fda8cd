using System.Text.Json;
using System.Text.Json.Nodes;
using VDiTLens.IO;
using VDiTLens.Procedural;
using static TorchSharp.torch;

namespace VDiTLens.Training;

/// <summary>What training.json records beside the configs.</summary>
public sealed record TrainingSummary(int Steps, double TrainingSeconds, string Device, double FinalLoss, long TransformerParameters, long TextEncoderParameters);

/// <summary>
/// Writes the tiny model as a diffusers-layout pixel-space Wan pipeline: <c>model_index.json</c> (vae null),
/// <c>transformer/</c>, <c>text_encoder/</c> (UMT5 config), <c>tokenizer/vocab.json</c> (word level),
/// <c>scheduler/scheduler_config.json</c> (flow-match Euler with the training shift) and <c>training.json</c>.
/// </summary>
public static class TinyPipelineWriter
{
    public const string DiffusersVersion = "0.33.0";
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <param name="weights">Prefixed weights (<c>transformer.*</c>, <c>text_encoder.*</c>), e.g. the EMA.</param>
    /// <param name="ship">Cast the weights and shard the transformer's (null = float32, one file each).</param>
    public static void Write(string folder, TinyModelConfig config, TinyTrainingOptions options,
        IReadOnlyDictionary<string, Tensor> weights, TrainingSummary summary, ShardedWeights? ship = null)
    {
        Directory.CreateDirectory(folder);
        WriteJson(Path.Combine(folder, "model_index.json"), ModelIndex());

        string transformer = Path.Combine(folder, "transformer");
        Directory.CreateDirectory(transformer);
        WriteJson(Path.Combine(transformer, "config.json"), TransformerConfig(config));
        if (ship is null) SafeTensorsWriter.Save(Path.Combine(transformer, "diffusion_pytorch_model.safetensors"), Strip(weights, TinyModel.TransformerPrefix));
        else
        {
            File.Delete(Path.Combine(transformer, "diffusion_pytorch_model.safetensors"));
            ShardedSafeTensorsWriter.Save(transformer, "diffusion_pytorch_model", Strip(weights, TinyModel.TransformerPrefix), ship.DType, ship.MaxShardBytes);
        }

        string text = Path.Combine(folder, "text_encoder");
        Directory.CreateDirectory(text);
        WriteJson(Path.Combine(text, "config.json"), TextEncoderConfig(config));
        var textWeights = Strip(weights, TinyModel.TextEncoderPrefix).Select(kv => KeyValuePair.Create(kv.Key, ship is null ? kv.Value : kv.Value.to(ship.DType))).ToList();
        SafeTensorsWriter.Save(Path.Combine(text, "model.safetensors"), textWeights, new Dictionary<string, string> { ["format"] = "pt" });

        string tokenizer = Path.Combine(folder, "tokenizer");
        Directory.CreateDirectory(tokenizer);
        WriteJson(Path.Combine(tokenizer, "vocab.json"), Vocabulary(CaptionVocabulary.Default, config.VocabSize, options.CaptionLength));

        string scheduler = Path.Combine(folder, "scheduler");
        Directory.CreateDirectory(scheduler);
        WriteJson(Path.Combine(scheduler, "scheduler_config.json"), SchedulerConfig(options.SigmaShift));

        WriteJson(Path.Combine(folder, "training.json"), new JsonObject
        {
            ["model"] = JsonSerializer.SerializeToNode(config),
            ["options"] = JsonSerializer.SerializeToNode(options),
            ["summary"] = JsonSerializer.SerializeToNode(summary),
            ["precision"] = "float32 weights, optimizer and EMA; float32 compute with TF32 matmuls on CUDA",
            ["objective"] = "rectified flow: x = (1 - sigma) x0 + sigma noise, target noise - x0, timestep = 1000 sigma, sigma = shift(u), u ~ U(0,1)",
            ["weights"] = "exponential moving average",
            ["data"] = options.Scenes is null
                ? "VDiTLens.Procedural.ProceduralDataset.Training (held-out combinations never seen)"
                : "VDiTLens.Procedural.Scenes.SceneDataset.Training",
            ["arm"] = config.Arm switch
            {
                TrainingArm.Bos => "bos: trained with a constant zero frame before every clip (not part of this pipeline)",
                TrainingArm.Frame0 => "frame0: trained with frame 0 through its own per-patch map (not part of this pipeline)",
                _ => "plain",
            },
        });
    }

    public static JsonObject ModelIndex() => new()
    {
        ["_class_name"] = "WanPipeline",
        ["_diffusers_version"] = DiffusersVersion,
        ["scheduler"] = new JsonArray("diffusers", "FlowMatchEulerDiscreteScheduler"),
        ["text_encoder"] = new JsonArray("transformers", "UMT5EncoderModel"),
        ["tokenizer"] = new JsonArray("vditlens", "WordLevelTokenizer"),
        ["transformer"] = new JsonArray("diffusers", "WanTransformer3DModel"),
        ["vae"] = new JsonArray(null, null),
    };

    public static JsonObject TransformerConfig(TinyModelConfig config)
    {
        var c = config.Transformer;
        return new JsonObject
        {
            ["_class_name"] = "WanTransformer3DModel",
            ["_diffusers_version"] = DiffusersVersion,
            ["added_kv_proj_dim"] = null,
            ["attention_head_dim"] = c.attention_head_dim,
            ["cross_attn_norm"] = c.cross_attn_norm,
            ["eps"] = c.eps,
            ["ffn_dim"] = c.ffn_dim,
            ["freq_dim"] = c.freq_dim,
            ["image_dim"] = null,
            ["in_channels"] = c.in_channels,
            ["num_attention_heads"] = c.num_attention_heads,
            ["num_layers"] = c.num_layers,
            ["out_channels"] = c.out_channels,
            ["patch_size"] = new JsonArray(c.patch_size.Select(p => (JsonNode?)p).ToArray()),
            ["pos_embed_seq_len"] = null,
            ["qk_norm"] = c.qk_norm,
            ["rope_max_seq_len"] = c.rope_max_seq_len,
            ["text_dim"] = c.text_dim,
        };
    }

    public static JsonObject TextEncoderConfig(TinyModelConfig config)
    {
        var c = config.TextEncoder;
        return new JsonObject
        {
            ["architectures"] = new JsonArray("UMT5EncoderModel"),
            ["model_type"] = c.model_type,
            ["vocab_size"] = c.vocab_size,
            ["d_model"] = c.d_model,
            ["d_kv"] = c.d_kv,
            ["d_ff"] = c.d_ff,
            ["num_layers"] = c.num_layers,
            ["num_decoder_layers"] = c.num_layers,
            ["num_heads"] = c.num_heads,
            ["relative_attention_num_buckets"] = c.relative_attention_num_buckets,
            ["relative_attention_max_distance"] = c.relative_attention_max_distance,
            ["layer_norm_epsilon"] = c.layer_norm_epsilon,
            ["feed_forward_proj"] = c.feed_forward_proj,
            ["dense_act_fn"] = "gelu_new",
            ["is_gated_act"] = true,
            ["dropout_rate"] = 0.0,
            ["initializer_factor"] = 1.0,
            ["pad_token_id"] = (int)CaptionVocabulary.PadId,
            ["eos_token_id"] = (int)CaptionVocabulary.EosId,
            ["decoder_start_token_id"] = (int)CaptionVocabulary.PadId,
            ["tie_word_embeddings"] = false,
            ["is_encoder_decoder"] = true,
            ["torch_dtype"] = "float32",
        };
    }

    /// <summary>The word-level tokenizer file the pipeline's WordLevelTokenizer reads.</summary>
    /// <param name="size">How many ids, from the first (the text encoder's vocab_size).</param>
    /// <param name="maxLength">The caption token length the model was trained with.</param>
    public static JsonObject Vocabulary(CaptionVocabulary vocabulary, int size, int maxLength) => new()
    {
        ["type"] = "word_level",
        ["words"] = new JsonArray(vocabulary.Words.Take(size).Select(w => (JsonNode?)w).ToArray()),
        ["pad"] = (int)CaptionVocabulary.PadId,
        ["eos"] = (int)CaptionVocabulary.EosId,
        ["unk"] = (int)CaptionVocabulary.UnkId,
        ["lowercase"] = true,
        // The caption token length the model was trained with (prompt states padded to this many rows).
        ["model_max_length"] = maxLength,
    };

    public static JsonObject SchedulerConfig(double shift) => new()
    {
        ["_class_name"] = "FlowMatchEulerDiscreteScheduler",
        ["_diffusers_version"] = DiffusersVersion,
        ["num_train_timesteps"] = 1000,
        ["shift"] = shift,
        ["use_dynamic_shifting"] = false,
        ["base_shift"] = 0.5,
        ["max_shift"] = 1.15,
        ["base_image_seq_len"] = 256,
        ["max_image_seq_len"] = 4096,
        ["invert_sigmas"] = false,
        ["shift_terminal"] = null,
        ["use_karras_sigmas"] = false,
        ["use_exponential_sigmas"] = false,
        ["use_beta_sigmas"] = false,
        ["time_shift_type"] = "exponential",
        ["stochastic_sampling"] = false,
    };

    private static IEnumerable<KeyValuePair<string, Tensor>> Strip(IReadOnlyDictionary<string, Tensor> weights, string prefix) =>
        weights.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal))
            .OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => KeyValuePair.Create(kv.Key[prefix.Length..], kv.Value));

    private static void WriteJson(string path, JsonNode node) => File.WriteAllText(path, node.ToJsonString(Indented) + "\n");
}
