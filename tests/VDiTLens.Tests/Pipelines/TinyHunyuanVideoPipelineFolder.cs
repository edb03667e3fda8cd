using System.Text.Json.Nodes;
using VDiTLens.Tests.TestSupport;
using VDiTLens.Text.Bpe;

namespace VDiTLens.Tests.Pipelines;

/// <summary>
/// A throw-away HunyuanVideoPipeline folder of configs and tokenizers only (the hunyuan_video / hunyuan_video_vae
/// fixture configs, a 16-wide 3-layer Llama, an 8-wide CLIP, the HunyuanVideo scheduler config), for
/// <c>CreateRandom</c>. Both tokenizers are byte-level with no merges: every UTF-8 byte is one token. Deleted on dispose.
/// </summary>
public sealed class TinyHunyuanVideoPipelineFolder : IDisposable
{
    public static readonly string[] Specials = { "<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", "<pad>" };

    /// <summary>A short template: BOS, &lt;|start_header_id|&gt;, "sys", &lt;|end_header_id|&gt; = 6 tokens before the prompt.</summary>
    public static readonly VDiTLens.Pipelines.HunyuanVideoPromptTemplate Template = new("<|start_header_id|>sys<|end_header_id|>{}<|eot_id|>", 6);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "vditlens-hunyuan-" + Guid.NewGuid().ToString("N"));

    public TinyHunyuanVideoPipelineFolder()
    {
        Write("model_index.json", new JsonObject
        {
            ["_class_name"] = "HunyuanVideoPipeline",
            ["transformer"] = new JsonArray("diffusers", "HunyuanVideoTransformer3DModel"),
            ["vae"] = new JsonArray("diffusers", "AutoencoderKLHunyuanVideo"),
            ["text_encoder"] = new JsonArray("transformers", "LlamaModel"),
            ["tokenizer"] = new JsonArray("transformers", "LlamaTokenizerFast"),
            ["text_encoder_2"] = new JsonArray("transformers", "CLIPTextModel"),
            ["tokenizer_2"] = new JsonArray("transformers", "CLIPTokenizer"),
            ["scheduler"] = new JsonArray("diffusers", "FlowMatchEulerDiscreteScheduler"),
        });
        Write("transformer/config.json", ReadFixture("hunyuan_video", "config.json"));
        Write("vae/config.json", ReadFixture("hunyuan_video_vae", "config.json"));
        Write("scheduler/scheduler_config.json", ReadFixture("schedulers", "flowmatch_euler_hunyuan", "scheduler_config.json"));
        Write("text_encoder/config.json", JsonNode.Parse(
            """{"architectures":["LlamaModel"],"model_type":"llama","vocab_size":270,"hidden_size":16,"intermediate_size":24,"num_hidden_layers":3,"num_attention_heads":2,"num_key_value_heads":1,"head_dim":8,"rms_norm_eps":1e-5,"rope_parameters":{"rope_type":"default","rope_theta":500000.0},"hidden_act":"silu"}""")!.AsObject());
        Write("text_encoder_2/config.json", JsonNode.Parse(
            """{"architectures":["CLIPTextModel"],"model_type":"clip_text_model","vocab_size":514,"hidden_size":8,"intermediate_size":16,"num_hidden_layers":1,"num_attention_heads":2,"max_position_embeddings":77,"hidden_act":"quick_gelu","layer_norm_eps":1e-5,"bos_token_id":0,"pad_token_id":1,"eos_token_id":2}""")!.AsObject());

        var bytes = ByteLevelAlphabet.All.Select(c => c.ToString()).ToList();
        var vocab = new JsonObject();
        for (int i = 0; i < bytes.Count; i++) vocab[bytes[i]] = i;
        var added = new JsonArray(Specials.Select((s, i) => (JsonNode)new JsonObject
        {
            ["id"] = 256 + i, ["content"] = s, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false, ["normalized"] = false, ["special"] = true,
        }).ToArray());
        Write("tokenizer/tokenizer.json", new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = added,
            ["normalizer"] = null,
            ["pre_tokenizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = @"\s+|\S+" }, ["behavior"] = "Isolated", ["invert"] = false },
                    new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = false }),
            },
            ["post_processor"] = new JsonObject
            {
                ["type"] = "TemplateProcessing",
                ["single"] = new JsonArray(
                    new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = "<|begin_of_text|>", ["type_id"] = 0 } },
                    new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } }),
                ["special_tokens"] = new JsonObject
                {
                    ["<|begin_of_text|>"] = new JsonObject { ["id"] = "<|begin_of_text|>", ["ids"] = new JsonArray(256), ["tokens"] = new JsonArray("<|begin_of_text|>") },
                },
            },
            ["model"] = new JsonObject { ["type"] = "BPE", ["vocab"] = vocab, ["merges"] = new JsonArray(), ["ignore_merges"] = true },
        });
        Write("tokenizer/tokenizer_config.json", new JsonObject { ["pad_token"] = "<pad>", ["bos_token"] = "<|begin_of_text|>", ["eos_token"] = "<|end_of_text|>" });

        var clip = new JsonObject();
        int id = 0;
        foreach (var b in bytes) clip[b] = id++;
        foreach (var b in bytes) clip[b + "</w>"] = id++;
        clip["<|startoftext|>"] = id++;
        clip["<|endoftext|>"] = id;
        Write("tokenizer_2/vocab.json", clip);
        File.WriteAllText(FilePath("tokenizer_2", "merges.txt"), "#version: 0.2\n");
    }

    public string FilePath(params string[] parts) => System.IO.Path.Combine(new[] { Path }.Concat(parts).ToArray());

    public void Edit(string relative, Action<JsonObject> edit)
    {
        var json = JsonNode.Parse(File.ReadAllText(FilePath(relative)))!.AsObject();
        edit(json);
        File.WriteAllText(FilePath(relative), json.ToJsonString());
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
    }

    private static JsonObject ReadFixture(params string[] parts) => JsonNode.Parse(File.ReadAllText(Fixtures.Path(parts)))!.AsObject();

    private void Write(string relative, JsonObject json)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(FilePath(relative))!);
        File.WriteAllText(FilePath(relative), json.ToJsonString());
    }
}
