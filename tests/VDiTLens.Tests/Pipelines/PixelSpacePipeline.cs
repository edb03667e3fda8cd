using System.Text.Json.Nodes;
using TorchSharp;
using VDiTLens.IO;
using VDiTLens.Models.Wan;
using VDiTLens.Tests.TestSupport;

namespace VDiTLens.Tests.Pipelines;

/// <summary>
/// A pixel-space pipeline folder (no vae; RGB Wan transformer with random weights; word-level vocab.json; the
/// wan_pipeline fixture's UMT5 encoder and UniPC scheduler), built in a temp folder.
/// </summary>
public sealed class PixelSpacePipeline : IDisposable
{
    public static readonly string[] Words = { "<pad>", "</s>", "<unk>", "a", "red", "blue", "circle", "square", "moving", "left", "right" };
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "vditlens-pixel-" + Guid.NewGuid().ToString("N"));

    public PixelSpacePipeline()
    {
        string source = Fixtures.Path("wan_pipeline", "pipeline");
        Directory.CreateDirectory(Path);
        var index = JsonNode.Parse(File.ReadAllText(System.IO.Path.Combine(source, "model_index.json")))!.AsObject();
        index["vae"] = null;
        index["tokenizer"] = new JsonArray("vditlens", "WordLevelTokenizer");
        File.WriteAllText(System.IO.Path.Combine(Path, "model_index.json"), index.ToJsonString());
        foreach (var component in new[] { "text_encoder", "scheduler" })
        {
            Directory.CreateDirectory(System.IO.Path.Combine(Path, component));
            foreach (var file in Directory.GetFiles(System.IO.Path.Combine(source, component)))
                File.Copy(file, System.IO.Path.Combine(Path, component, System.IO.Path.GetFileName(file)));
        }
        Directory.CreateDirectory(System.IO.Path.Combine(Path, "tokenizer"));
        File.WriteAllText(System.IO.Path.Combine(Path, "tokenizer", "vocab.json"), new JsonObject
        {
            ["type"] = "word_level", ["words"] = new JsonArray(Words.Select(w => (JsonNode?)w).ToArray()),
            ["pad"] = 0, ["eos"] = 1, ["unk"] = 2, ["lowercase"] = true,
        }.ToJsonString());

        string transformer = System.IO.Path.Combine(Path, "transformer");
        Directory.CreateDirectory(transformer);
        var config = new JsonObject
        {
            ["_class_name"] = "WanTransformer3DModel", ["attention_head_dim"] = 8, ["num_attention_heads"] = 2, ["num_layers"] = 2,
            ["in_channels"] = 3, ["out_channels"] = 3, ["text_dim"] = 32, ["freq_dim"] = 32, ["ffn_dim"] = 32,
            ["patch_size"] = new JsonArray(1, 2, 2), ["rope_max_seq_len"] = 32,
        };
        File.WriteAllText(System.IO.Path.Combine(transformer, "config.json"), config.ToJsonString());
        torch.manual_seed(7);
        using var model = new WanTransformer3DModel(WanConfig.Read(ModelFolder.Open(transformer)), torch.CPU, torch.ScalarType.Float32);
        SafeTensorsWriter.Save(System.IO.Path.Combine(transformer, "diffusion_pytorch_model.safetensors"), model.state_dict());
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
    }
}
