using System.Text.Json.Nodes;
using TorchSharp;
using VDiTLens.IO;
using VDiTLens.Tests.TestSupport;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Pipelines;

/// <summary>
/// A Wan2.2 I2V-A14B-layout folder (WanImageToVideoPipeline, two experts, no image encoder) made from the
/// wan22_pipeline fixture: each expert's patch embedding widened from 4 to 12 input channels (latents, 4 first-frame
/// mask channels, 4 image-latent channels). The weights of the 8 new channels are zero (the experts then compute
/// exactly what they compute in the text-to-video fixture) or seeded noise.
/// </summary>
public sealed class ImageToVideoPipeline : IDisposable
{
    private readonly TempPipeline _copy = new(Fixtures.Path("wan22_pipeline", "pipeline"));
    public string Path => _copy.Path;

    public ImageToVideoPipeline(bool zeroConditionWeights, double boundaryRatio = 0.875)
    {
        _copy.EditJson("model_index.json", j =>
        {
            j["_class_name"] = "WanImageToVideoPipeline";
            j["image_encoder"] = new JsonArray(null, null);
            j["image_processor"] = new JsonArray(null, null);
            j["boundary_ratio"] = boundaryRatio;
        });
        for (int i = 0; i < 2; i++)
        {
            string component = i == 0 ? "transformer" : "transformer_2";
            _copy.EditJson($"{component}/config.json", j =>
            {
                j["in_channels"] = 12;
                j["out_channels"] = 4;
            });
            string file = _copy.File(component, "diffusion_pytorch_model.safetensors");
            Dictionary<string, Tensor> weights;
            using (var source = SafeTensorsFile.Open(file))
                weights = source.Names.ToDictionary(n => n, n => source.Load(n));
            var patch = weights["patch_embedding.weight"];
            var extraShape = new[] { patch.shape[0], 8L, patch.shape[2], patch.shape[3], patch.shape[4] };
            var extra = zeroConditionWeights ? torch.zeros(extraShape) : 0.05f * torch.randn(extraShape, generator: new Generator(4100 + (ulong)i));
            weights["patch_embedding.weight"] = torch.cat(new[] { patch, extra }, 1).contiguous();
            SafeTensorsWriter.Save(file, weights);
            foreach (var w in weights.Values) w.Dispose();
        }
    }

    public void Dispose() => _copy.Dispose();
}
