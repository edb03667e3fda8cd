using TorchSharp;
using VDiTLens.IO;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.Tests.IO;

public sealed class WeightLoaderTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("vditlens-weights-").FullName;

    public WeightLoaderTests() => TorchRuntime.Initialise();

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>State dict: proj.weight [2, 3], proj.bias [2], norm.weight [2], norm.bias [2].</summary>
    private static nn.Module<Tensor, Tensor> Model() =>
        nn.Sequential(("proj", nn.Linear(3, 2)), ("norm", nn.LayerNorm(2)));

    private string Save(Dictionary<string, Tensor> tensors)
    {
        string path = Path.Combine(_folder, "model.safetensors");
        SafeTensorsWriter.Save(path, tensors);
        return path;
    }

    [Fact]
    public void Missing_unexpected_and_mis_shaped_parameters_are_reported_together_by_name()
    {
        using var scope = torch.NewDisposeScope();
        string path = Save(new()
        {
            ["proj.weight"] = torch.zeros(3, 3), // mis-shaped
            ["proj.bias"] = torch.zeros(2),
            ["norm.weight"] = torch.ones(2),
            // norm.bias missing
            ["extra.weight"] = torch.zeros(1), // unexpected
        });
        using var model = Model();
        using var source = SafeTensorsFile.Open(path);
        var e = Assert.Throws<VDiTLensException>(() => WeightLoader.Load(model, source));
        Assert.StartsWith(path + ": weights do not match the model", e.Message);
        Assert.Contains("1 missing: norm.bias", e.Message);
        Assert.Contains("1 unexpected: extra.weight", e.Message);
        Assert.Contains("1 mis-shaped: proj.weight expected [2, 3] found [3, 3]", e.Message);
    }

    [Fact]
    public void Matching_checkpoint_is_copied_exactly_into_parameters_of_another_dtype()
    {
        using var scope = torch.NewDisposeScope();
        var values = new Dictionary<string, Tensor>
        {
            ["proj.weight"] = torch.randn(2, 3, ScalarType.Float64),
            ["proj.bias"] = torch.randn(2, ScalarType.Float64),
            ["norm.weight"] = torch.randn(2, ScalarType.Float64),
            ["norm.bias"] = torch.randn(2, ScalarType.Float64),
        };
        using var model = Model();
        using (var source = SafeTensorsFile.Open(Save(values)))
            WeightLoader.Load(model, source);
        foreach (var (name, parameter) in model.state_dict())
        {
            Assert.Equal(ScalarType.Float32, parameter.dtype);
            Assert.True(Exact.Same(parameter, values[name].to(ScalarType.Float32)), name);
        }
    }

    [Fact]
    public void Ignored_and_optional_names_are_not_reported()
    {
        using var scope = torch.NewDisposeScope();
        string path = Save(new()
        {
            ["proj.weight"] = torch.zeros(2, 3), ["proj.bias"] = torch.zeros(2), ["norm.weight"] = torch.ones(2),
            ["rope.freqs"] = torch.zeros(4),
        });
        using var model = Model();
        using var source = SafeTensorsFile.Open(path);
        WeightLoader.Load(model, source, ignoreUnexpected: n => n.StartsWith("rope."), optional: n => n == "norm.bias");
        Assert.True(Exact.Same(model.state_dict()["norm.weight"], torch.ones(2)));
    }
}
