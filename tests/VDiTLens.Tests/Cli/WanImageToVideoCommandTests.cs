using System.CommandLine;
using VDiTLens.Cli.Commands;
using VDiTLens.IO;
using VDiTLens.Models.Wan;
using VDiTLens.Runtime;
using VDiTLens.Tests.Models.Wan;
using VDiTLens.Tests.Pipelines;
using VDiTLens.Tests.TestSupport;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Cli;

/// <summary>
/// <c>generate --image</c> on the Wan2.1 I2V layout and <c>forward</c> on a Wan2.1 I2V transformer, where zero image
/// weights make diffusers' text-to-video references the expected outputs.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class WanImageToVideoCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vditlens-i2v-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static int Run(Command command, params string[] args) =>
        new RootCommand { command }.Parse(new[] { command.Name }.Concat(args).ToArray())
            .Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });

    [Fact]
    public void Generate_with_an_image_runs_the_wan21_i2v_layout()
    {
        var reference = Fixtures.Load("wan_pipeline/reference.safetensors");
        using var folder = new Wan21ImageToVideoPipeline(zeroImageValues: true);
        string latents = Path.Combine(_dir, "latents.safetensors"), image = Path.Combine(_dir, "image.safetensors"), outFile = Path.Combine(_dir, "video.safetensors");
        SafeTensorsWriter.Save(latents, new Dictionary<string, Tensor> { ["latents"] = reference["latents_init"] });
        SafeTensorsWriter.Save(image, new Dictionary<string, Tensor> { ["image"] = rand(1, 3, 32, 48) });
        Assert.Equal(0, Run(GenerateCommand.Create(),
            "--model", folder.Path, "--prompt", WanPipelineParityTests.Prompts[0], "--prompt", WanPipelineParityTests.Prompts[1],
            "--negative-prompt", WanPipelineParityTests.NegativePrompt, "--max-sequence-length", "16", "--frames", "9", "--steps", "4",
            "--guidance", "5", "--height", "32", "--width", "48", "--device", "cpu", "--dtype", "float32",
            "--latents", latents, "--image", image, "--out", outFile));
        using var f = SafeTensorsFile.Open(outFile);
        using var video = f.Load("video");
        double maxAbs = (video - reference["video"]).abs().max().item<float>();
        Assert.True(maxAbs <= 1e-4, $"video: max abs {maxAbs:E3}");
    }

    [Fact]
    public void Forward_takes_the_image_embeddings_of_a_wan21_i2v_transformer()
    {
        TorchRuntime.Initialise();
        var data = Fixtures.Load("wan_t2v/inputs_outputs.safetensors");
        string model = Path.Combine(_dir, "model");
        Directory.CreateDirectory(model);
        using (var t2v = WanTransformer3DModel.Load(ModelFolder.Open(Fixtures.Path("wan_t2v")), ComputeOptions.Cpu32))
        using (var i2v = WanImageModels.FromTextToVideo(t2v, WanImageModels.ImageConfig(t2v.Config, 20), zeroImageValues: true, 5, ScalarType.Float32))
            SafeTensorsWriter.Save(Path.Combine(model, "diffusion_pytorch_model.safetensors"), i2v.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.contiguous()));
        File.WriteAllText(Path.Combine(model, "config.json"), File.ReadAllText(Fixtures.Path("wan_t2v", "config.json"))
            .Replace("\"added_kv_proj_dim\": null", "\"added_kv_proj_dim\": 24").Replace("\"image_dim\": null", "\"image_dim\": 20"));
        string inputs = Path.Combine(_dir, "inputs.safetensors"), outFile = Path.Combine(_dir, "out.safetensors");
        var withImage = new Dictionary<string, Tensor>
        {
            ["hidden_states"] = data["hidden_states"], ["timestep"] = data["timestep"], ["encoder_hidden_states"] = data["encoder_hidden_states"],
            ["encoder_hidden_states_image"] = randn(2, 5, 20),
        };
        SafeTensorsWriter.Save(inputs, withImage);
        Assert.Equal(0, Run(ForwardCommand.Create(), "--model", model, "--inputs", inputs, "--output", outFile, "--save-attention", "--device", "cpu", "--dtype", "float32"));
        using var f = SafeTensorsFile.Open(outFile);
        using var output = f.Load("output");
        double maxAbs = (output - data["output"]).abs().max().item<float>();
        Assert.True(maxAbs <= 1e-4, $"output: max abs {maxAbs:E3}");
        Assert.Contains("attn.0.cross_image", f.Names);
        Assert.Equal(new long[] { 2, 2, 72, 5 }, f.Entry("attn.0.cross_image").Shape);
    }
}
