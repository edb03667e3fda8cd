using System.Text.Json.Nodes;
using TorchSharp;
using VDiTLens.IO;
using VDiTLens.Models.Wan;
using VDiTLens.Runtime;
using VDiTLens.Tests.Models.Wan;
using VDiTLens.Tests.TestSupport;
using VDiTLens.Tests.Text;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Pipelines;

/// <summary>
/// A Wan2.1 I2V-layout folder (WanImageToVideoPipeline with image_encoder and image_processor, one transformer) made
/// from the wan_pipeline fixture: its transformer widened to 12 input channels (the 8 condition channels' weights zero)
/// with image_dim 24 and image projections (<see cref="WanImageModels"/>), a random tiny CLIPVisionModel (hidden 24,
/// 32 × 32 pixels, 17 tokens) and the clip_image_processor fixture's preprocessor_config.json (shortest edge 32, crop 32).
/// </summary>
public sealed class Wan21ImageToVideoPipeline : IDisposable
{
    private readonly TempPipeline _copy = new();
    public string Path => _copy.Path;

    public Wan21ImageToVideoPipeline(bool zeroImageValues)
    {
        TorchRuntime.Initialise();
        _copy.EditJson("model_index.json", j =>
        {
            j["_class_name"] = "WanImageToVideoPipeline";
            j["image_encoder"] = new JsonArray("transformers", "CLIPVisionModel");
            j["image_processor"] = new JsonArray("transformers", "CLIPImageProcessor");
        });
        using (var source = WanTransformer3DModel.Load(ModelFolder.Open(_copy.File("transformer")), ComputeOptions.Cpu32))
        using (var model = WanImageModels.FromTextToVideo(source, WanImageModels.ImageConfig(source.Config, 24, extraInChannels: 8), zeroImageValues, 31, ScalarType.Float32))
            SafeTensorsWriter.Save(_copy.File("transformer", "diffusion_pytorch_model.safetensors"),
                model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.contiguous()));
        _copy.EditJson("transformer/config.json", j =>
        {
            j["in_channels"] = 12;
            j["image_dim"] = 24;
            j["added_kv_proj_dim"] = 32;
        });
        using (var encoder = ClipVisionModelTests.Random(ScalarType.Float32, 32))
            ClipVisionModelTests.WriteFolder(_copy.File("image_encoder"), encoder);
        Directory.CreateDirectory(_copy.File("image_processor"));
        File.Copy(Fixtures.Path("clip_image_processor", "preprocessor_config.json"), _copy.File("image_processor", "preprocessor_config.json"));
    }

    public void Dispose() => _copy.Dispose();
}
