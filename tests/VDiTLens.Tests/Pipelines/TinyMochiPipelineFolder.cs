using System.Text.Json.Nodes;
using TorchSharp;
using VDiTLens.IO;
using VDiTLens.Pipelines;
using VDiTLens.Tests.TestSupport;

namespace VDiTLens.Tests.Pipelines;

/// <summary>
/// A throw-away MochiPipeline folder of configs only (the mochi / mochi_vae fixture configs, a 16-wide T5 encoder,
/// the T5 SentencePiece tokenizer, the Mochi scheduler config), for <see cref="MochiPipeline.CreateRandom"/>; deleted on dispose.
/// The VAE statistics are non-trivial so de-normalisation is visible.
/// </summary>
public sealed class TinyMochiPipelineFolder : IDisposable
{
    public static readonly double[] LatentsMean = { 0.1, -0.2, 0.3, 0.05 };
    public static readonly double[] LatentsStd = { 1.5, 0.5, 2.0, 0.8 };

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "vditlens-mochi-" + Guid.NewGuid().ToString("N"));

    public TinyMochiPipelineFolder(bool forceZerosForEmptyPrompt = false)
    {
        Write("model_index.json", new JsonObject
        {
            ["_class_name"] = "MochiPipeline",
            ["force_zeros_for_empty_prompt"] = forceZerosForEmptyPrompt,
            ["transformer"] = new JsonArray("diffusers", "MochiTransformer3DModel"),
            ["text_encoder"] = new JsonArray("transformers", "T5EncoderModel"),
            ["tokenizer"] = new JsonArray("transformers", "T5TokenizerFast"),
            ["scheduler"] = new JsonArray("diffusers", "FlowMatchEulerDiscreteScheduler"),
            ["vae"] = new JsonArray("diffusers", "AutoencoderKLMochi"),
        });
        Write("transformer/config.json", ReadFixture("mochi", "config.json"));
        var vae = ReadFixture("mochi_vae", "config.json");
        vae["latents_mean"] = new JsonArray(LatentsMean.Select(v => (JsonNode)v).ToArray());
        vae["latents_std"] = new JsonArray(LatentsStd.Select(v => (JsonNode)v).ToArray());
        Write("vae/config.json", vae);
        Write("text_encoder/config.json", JsonNode.Parse(
            """{"architectures":["T5EncoderModel"],"model_type":"t5","vocab_size":32128,"d_model":16,"d_kv":4,"d_ff":32,"num_layers":2,"num_heads":4,"relative_attention_num_buckets":8,"relative_attention_max_distance":16,"layer_norm_epsilon":1e-6,"feed_forward_proj":"gated-gelu"}""")!.AsObject());
        Write("scheduler/scheduler_config.json", ReadFixture("schedulers", "flowmatch_euler_mochi", "scheduler_config.json"));
        Directory.CreateDirectory(File("tokenizer"));
        System.IO.File.Copy(Fixtures.Path("t5_tokenizer_spm", "spiece.model"), File("tokenizer", "spiece.model"));
    }

    public string File(params string[] parts) => System.IO.Path.Combine(new[] { Path }.Concat(parts).ToArray());

    /// <summary>Saves the pipeline's weights where <see cref="MochiPipeline.Load"/> reads them.</summary>
    public void SaveWeights(MochiPipeline pipeline)
    {
        Save(File("transformer", "diffusion_pytorch_model.safetensors"), pipeline.Transformer);
        Save(File("vae", "diffusion_pytorch_model.safetensors"), pipeline.Vae);
        Save(File("text_encoder", "model.safetensors"), (torch.nn.Module)pipeline.TextEncoder);
    }

    public void Edit(string relative, Action<JsonObject> edit)
    {
        var json = JsonNode.Parse(System.IO.File.ReadAllText(File(relative)))!.AsObject();
        edit(json);
        System.IO.File.WriteAllText(File(relative), json.ToJsonString());
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
    }

    private static void Save(string file, torch.nn.Module module) =>
        SafeTensorsWriter.Save(file, module.state_dict().Select(kv => new KeyValuePair<string, torch.Tensor>(kv.Key, kv.Value.contiguous())));

    private static JsonObject ReadFixture(params string[] parts) => JsonNode.Parse(System.IO.File.ReadAllText(Fixtures.Path(parts)))!.AsObject();

    private void Write(string relative, JsonObject json)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(File(relative))!);
        System.IO.File.WriteAllText(File(relative), json.ToJsonString());
    }
}
