using TorchSharp;
using VDiTLens.IO;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.Tests.TestSupport;

/// <summary>The diffusers reference fixtures under tests/fixtures, and comparisons against them.</summary>
public static class Fixtures
{
    public static string Root { get; } = FindRoot();

    public static string Path(params string[] parts) => System.IO.Path.Combine(new[] { Root }.Concat(parts).ToArray());

    public static Dictionary<string, Tensor> Load(string relativeFile, ScalarType? dtype = null)
    {
        TorchRuntime.Initialise();
        using var file = SafeTensorsFile.Open(Path(relativeFile));
        return file.LoadAll(dtype: dtype);
    }

    /// <summary>‖actual − expected‖₂ / ‖expected‖₂ computed in float64.</summary>
    public static double RelativeL2(Tensor actual, Tensor expected)
    {
        Assert.Equal(expected.shape, actual.shape);
        using var scope = torch.NewDisposeScope();
        var a = actual.detach().cpu().to(ScalarType.Float64);
        var e = expected.detach().cpu().to(ScalarType.Float64);
        double denominator = e.norm().item<double>();
        double numerator = (a - e).norm().item<double>();
        Assert.False(double.IsNaN(numerator), "result contains NaN");
        return denominator == 0 ? numerator : numerator / denominator;
    }

    public static void AssertClose(Tensor actual, Tensor expected, double relativeTolerance, string what)
    {
        double error = RelativeL2(actual, expected);
        Assert.True(error <= relativeTolerance, $"{what}: relative L2 error {error:E3} exceeds {relativeTolerance:E1}");
    }

    /// <summary><see cref="AssertClose(Tensor, Tensor, double, string)"/>, first writing the measured error (relative L2,
    /// and the largest absolute difference when <paramref name="withMaxAbs"/>) to the test output.</summary>
    public static void AssertClose(Tensor actual, Tensor expected, double relativeTolerance, string what,
        Xunit.Abstractions.ITestOutputHelper output, bool withMaxAbs = false)
    {
        double error = RelativeL2(actual, expected);
        string maxAbs = withMaxAbs
            ? $", max abs {(actual.cpu().to(ScalarType.Float64) - expected.to(ScalarType.Float64)).abs().max().item<double>():E3}"
            : "";
        output.WriteLine($"{what}: relative L2 {error:E3}{maxAbs}");
        Assert.True(error <= relativeTolerance, $"{what}: relative L2 error {error:E3} exceeds {relativeTolerance:E1}");
    }

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null)
        {
            string candidate = System.IO.Path.Combine(dir.FullName, "tests", "fixtures");
            if (Directory.Exists(candidate)) return candidate;
            dir = dir.Parent;
        }
        throw new DirectoryNotFoundException("tests/fixtures not found above " + AppContext.BaseDirectory);
    }
}
