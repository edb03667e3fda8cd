using TorchSharp;
using VDiTLens.Models.Common;
using VDiTLens.Runtime;
using VDiTLens.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Models.Common;

/// <summary>
/// Every family's transformer, loaded by <see cref="TransformerLoader"/> from its fixture, reproduces the output of
/// diffusers' model on the fixture's inputs (a float64 run, stored as float32) in float32 and float64. Wan and
/// HunyuanVideo are pinned looser in float64: their timestep sinusoids come from float32 exp/sin (the families'
/// parity test classes say by how much).
/// </summary>
public sealed class TransformerParityTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("wan_t2v", ScalarType.Float32, 1e-5)]
    [InlineData("wan_t2v", ScalarType.Float64, 1e-6)]
    [InlineData("cogvideox_2b", ScalarType.Float32, 1e-5)]
    [InlineData("cogvideox_2b", ScalarType.Float64, 1e-7)]
    [InlineData("cogvideox_5b", ScalarType.Float32, 1e-5)]
    [InlineData("cogvideox_5b", ScalarType.Float64, 1e-7)]
    [InlineData("mochi", ScalarType.Float32, 1e-5)]
    [InlineData("mochi", ScalarType.Float64, 1e-7)]
    [InlineData("hunyuan_video", ScalarType.Float32, 1e-5)]
    [InlineData("hunyuan_video", ScalarType.Float64, 1e-6)]
    public void Output_matches_diffusers(string fixture, ScalarType dtype, double tolerance)
    {
        TorchRuntime.Initialise();
        using var model = TransformerLoader.Load(Fixtures.Path(fixture), new ComputeOptions(torch.CPU, dtype, 0));
        var data = Fixtures.Load($"{fixture}/inputs_outputs.safetensors");
        using var _ = torch.no_grad();
        var result = model.Forward(data);
        Assert.Equal(dtype, result.dtype);
        Fixtures.AssertClose(result, data["output"], tolerance, $"{fixture} output ({dtype})", output);
    }
}
