using System.Text.Json.Nodes;
using VDiTLens.Tests.TestSupport;

namespace VDiTLens.Tests.Pipelines;

/// <summary>
/// A config-only CogVideoXPipeline folder (for <see cref="VDiTLens.Pipelines.CogVideoXPipeline.CreateRandom"/>): the
/// cogvideox_5b (rotary) or cogvideox_2b (sin-cos) fixture transformer config, the cogvideox_vae config, a 2-layer T5
/// encoder with d_model 12, the 32k T5 SentencePiece tokenizer and a CogVideoX scheduler fixture config. Deleted on dispose.
/// </summary>
public sealed class TinyCogVideoXFolder : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "vditlens-cogvideox-" + Guid.NewGuid().ToString("N"));

    public TinyCogVideoXFolder(string transformer = "cogvideox_5b", string scheduler = "cogvideox_ddim")
    {
        string schedulerClass = scheduler == "cogvideox_dpm" ? "CogVideoXDPMScheduler" : "CogVideoXDDIMScheduler";
        Write("model_index.json", new JsonObject
        {
            ["_class_name"] = "CogVideoXPipeline",
            ["tokenizer"] = new JsonArray("transformers", "T5Tokenizer"),
            ["text_encoder"] = new JsonArray("transformers", "T5EncoderModel"),
            ["vae"] = new JsonArray("diffusers", "AutoencoderKLCogVideoX"),
            ["transformer"] = new JsonArray("diffusers", "CogVideoXTransformer3DModel"),
            ["scheduler"] = new JsonArray("diffusers", schedulerClass),
        });
        Write("transformer/config.json", Read(transformer, "config.json"));
        Write("vae/config.json", Read("cogvideox_vae", "config.json"));
        Write("scheduler/scheduler_config.json", Read("schedulers", scheduler, "scheduler_config.json"));
        var t5 = Read("t5_encoder", "config.json");
        t5["d_model"] = 12;
        t5["vocab_size"] = 32128;
        Write("text_encoder/config.json", t5);
        Directory.CreateDirectory(File("tokenizer"));
        System.IO.File.Copy(Fixtures.Path("t5_tokenizer_spm", "spiece.model"), File("tokenizer", "spiece.model"));
    }

    public string File(params string[] parts) => System.IO.Path.Combine(new[] { Path }.Concat(parts).ToArray());

    public void Edit(string relative, Action<JsonObject> edit)
    {
        var json = JsonNode.Parse(System.IO.File.ReadAllText(File(relative)))!.AsObject();
        edit(json);
        Write(relative, json);
    }

    private static JsonObject Read(params string[] parts) => JsonNode.Parse(System.IO.File.ReadAllText(Fixtures.Path(parts)))!.AsObject();

    private void Write(string relative, JsonObject json)
    {
        string file = File(relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(file)!);
        System.IO.File.WriteAllText(file, json.ToJsonString());
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
    }
}
