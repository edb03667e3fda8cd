using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Models.Common;
using VDiTLens.Models.Wan;
using VDiTLens.Runtime;
using VDiTLens.Tests.TestSupport;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Models.Wan;

public sealed class WanTransformerParityTests
{
    private static (IVideoTransformer Model, Dictionary<string, Tensor> Data) Setup(ScalarType dtype)
    {
        TorchRuntime.Initialise();
        var model = TransformerLoader.Load(Fixtures.Path("wan_t2v"), new ComputeOptions(torch.CPU, dtype, 0));
        var data = Fixtures.Load("wan_t2v/inputs_outputs.safetensors");
        return (model, data);
    }

    [Fact]
    public void Float64_is_far_tighter_than_float32()
    {
        var (model, data) = Setup(ScalarType.Float64);
        using var _ = torch.no_grad();
        double error = Fixtures.RelativeL2(model.Forward(data), data["output"]);
        Assert.True(error < 1e-7, $"float64 error {error:E3}");
    }

    [Fact]
    public void Attention_probabilities_match_diffusers()
    {
        var (model, data) = Setup(ScalarType.Float32);
        var recorder = new DenseProbabilityRecorder();
        using var attached = model.Seam.Attach(recorder);
        using var _ = torch.no_grad();
        model.Forward(data);
        Assert.Equal(4, recorder.Probabilities.Count);
        foreach (var (key, p) in recorder.Probabilities)
            Fixtures.AssertClose(p, data[key], 1e-5, key);
    }
}
