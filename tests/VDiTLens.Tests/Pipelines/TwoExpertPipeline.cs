using System.Text.Json.Nodes;
using TorchSharp;
using VDiTLens.IO;
using VDiTLens.Models.Wan;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Pipelines;

/// <summary>
/// A Wan2.2 A14B-layout folder made from the wan_pipeline fixture: its transformer as the high-noise expert, a second
/// random transformer of the same config as <c>transformer_2</c>, boundary_ratio 0.875.
/// </summary>
public sealed class TwoExpertPipeline : IDisposable
{
    private readonly TempPipeline _copy = new();
    public string Path => _copy.Path;
    public TempPipeline Copy => _copy;

    public TwoExpertPipeline(double boundaryRatio = 0.875)
    {
        string second = _copy.File("transformer_2");
        Directory.CreateDirectory(second);
        File.Copy(_copy.File("transformer", "config.json"), System.IO.Path.Combine(second, "config.json"));
        torch.manual_seed(77);
        using var model = new WanTransformer3DModel(WanConfig.Read(ModelFolder.Open(_copy.File("transformer"))), torch.CPU, ScalarType.Float32);
        SafeTensorsWriter.Save(System.IO.Path.Combine(second, "diffusion_pytorch_model.safetensors"),
            model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.contiguous()));
        _copy.EditJson("model_index.json", j =>
        {
            j["transformer_2"] = new JsonArray("diffusers", "WanTransformer3DModel");
            j["boundary_ratio"] = boundaryRatio;
        });
    }

    public void Dispose() => _copy.Dispose();
}
