using System.Text.Json.Nodes;
using VDiTLens.Pipelines;

namespace VDiTLens.Benchmarks;

/// <summary>
/// A Wan text-to-video pipeline described by its components' standard configs only (no weights), plus the request
/// size it is benchmarked at. <see cref="WriteFolder"/> lays it out as a diffusers pipeline folder of config files,
/// which <see cref="WanPipeline.CreateRandom"/> turns into a pipeline with random weights. The reference script
/// <c>scripts/reference/bench_wan_pipeline.py</c> builds diffusers' WanPipeline from the same configs.
/// </summary>
public sealed record WanPipelinePreset(
    string Name, string TransformerConfig, string TextEncoderConfig, string VaeConfig, string SchedulerConfig,
    int Height, int Width, int Frames, int Steps, int MaxSequenceLength)
{
    public static IReadOnlyList<string> Names => All.Select(p => p.Name).ToList();

    public static WanPipelinePreset ByName(string name) =>
        All.FirstOrDefault(p => p.Name == name) ?? throw new VDiTLensException($"unknown pipeline preset '{name}' (use {string.Join(", ", Names)})");

    /// <summary>diffusers' Wan2.1-T2V scheduler: UniPC on flow-matching sigmas, shift 3 (480p).</summary>
    private const string UniPcFlowShift3 =
        """{"_class_name":"UniPCMultistepScheduler","num_train_timesteps":1000,"beta_start":0.0001,"beta_end":0.02,"beta_schedule":"linear","solver_order":2,"prediction_type":"flow_prediction","thresholding":false,"predict_x0":true,"solver_type":"bh2","lower_order_final":true,"disable_corrector":[],"use_flow_sigmas":true,"flow_shift":3.0,"timestep_spacing":"linspace","steps_offset":0,"final_sigmas_type":"zero"}""";

    private static readonly WanPipelinePreset[] All =
    {
        // Wan2.1-T2V-1.3B: the transformer of BenchmarkPreset "wan-1.3b", umT5-XXL's encoder, the Wan2.1 VAE (diffusers' defaults).
        new("wan-1.3b",
            Benchmarks.BenchmarkPreset.ByName("wan-1.3b").ConfigJson,
            """{"model_type":"umt5","vocab_size":256384,"d_model":4096,"d_kv":64,"d_ff":10240,"num_layers":24,"num_heads":64,"relative_attention_num_buckets":32,"relative_attention_max_distance":128,"layer_norm_epsilon":1e-6,"feed_forward_proj":"gated-gelu"}""",
            """{"base_dim":96,"z_dim":16,"dim_mult":[1,2,4,4],"num_res_blocks":2,"attn_scales":[],"temperal_downsample":[false,true,true],"dropout":0.0}""",
            UniPcFlowShift3, 480, 832, 81, 50, 512),
        // Same structure at toy sizes, for CPU tests of the benchmark path (vocab fits the 32k T5 SentencePiece model).
        new("tiny",
            """{"patch_size":[1,2,2],"num_attention_heads":2,"attention_head_dim":16,"in_channels":16,"out_channels":16,"text_dim":32,"freq_dim":256,"ffn_dim":48,"num_layers":2,"cross_attn_norm":true,"qk_norm":"rms_norm_across_heads","eps":1e-6,"rope_max_seq_len":32}""",
            """{"model_type":"umt5","vocab_size":32128,"d_model":32,"d_kv":8,"d_ff":64,"num_layers":2,"num_heads":4,"relative_attention_num_buckets":8,"relative_attention_max_distance":16,"layer_norm_epsilon":1e-6,"feed_forward_proj":"gated-gelu"}""",
            """{"base_dim":4,"z_dim":16,"dim_mult":[1,2,4,4],"num_res_blocks":1,"attn_scales":[],"temperal_downsample":[false,true,true],"dropout":0.0}""",
            UniPcFlowShift3, 32, 48, 9, 2, 16),
    };

    /// <summary>
    /// Writes model_index.json and each component's config into <paramref name="directory"/> (created), and copies the
    /// SentencePiece / tokenizer.json files of <paramref name="tokenizerDirectory"/> as its tokenizer. Returns the directory.
    /// </summary>
    public string WriteFolder(string directory, string tokenizerDirectory)
    {
        var tokenizerFiles = new[] { "spiece.model", "tokenizer.json", "tokenizer_config.json" }
            .Select(f => Path.Combine(tokenizerDirectory, f)).Where(File.Exists).ToList();
        if (!tokenizerFiles.Any(f => Path.GetFileName(f) is "spiece.model" or "tokenizer.json"))
            throw new VDiTLensException($"{tokenizerDirectory}: no spiece.model or tokenizer.json; --tokenizer must be a T5 SentencePiece tokenizer folder (e.g. tests/fixtures/t5_tokenizer_spm)");
        Write(directory, "model_index.json", new JsonObject
        {
            ["_class_name"] = WanPipelineFolder.PipelineClass,
            ["transformer"] = Pair("diffusers", "WanTransformer3DModel"),
            ["text_encoder"] = Pair("transformers", "UMT5EncoderModel"),
            ["tokenizer"] = Pair("transformers", "T5Tokenizer"),
            ["scheduler"] = Pair("diffusers", "UniPCMultistepScheduler"),
            ["vae"] = Pair("diffusers", "AutoencoderKLWan"),
        });
        Write(Path.Combine(directory, "transformer"), "config.json", WithClass(TransformerConfig, "WanTransformer3DModel"));
        Write(Path.Combine(directory, "text_encoder"), "config.json", WithClass(TextEncoderConfig, "UMT5EncoderModel"));
        Write(Path.Combine(directory, "vae"), "config.json", WithClass(VaeConfig, "AutoencoderKLWan"));
        Write(Path.Combine(directory, "scheduler"), "scheduler_config.json", JsonNode.Parse(SchedulerConfig)!.AsObject());
        string tokenizer = Path.Combine(directory, "tokenizer");
        Directory.CreateDirectory(tokenizer);
        foreach (var file in tokenizerFiles) File.Copy(file, Path.Combine(tokenizer, Path.GetFileName(file)), overwrite: true);
        return directory;
    }

    private static JsonArray Pair(string library, string className) => new(library, className);

    private static JsonObject WithClass(string json, string className)
    {
        var node = JsonNode.Parse(json)!.AsObject();
        node["_class_name"] = className;
        return node;
    }

    private static void Write(string directory, string file, JsonObject json)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, file), json.ToJsonString());
    }
}
