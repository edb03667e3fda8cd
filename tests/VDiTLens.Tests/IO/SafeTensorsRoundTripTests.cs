using TorchSharp;
using VDiTLens.IO;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.Tests.IO;

public sealed class SafeTensorsRoundTripTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("vditlens-roundtrip-").FullName;

    public SafeTensorsRoundTripTests() => TorchRuntime.Initialise();

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    public static TheoryData<string, ScalarType> DTypes => new()
    {
        { "F64", ScalarType.Float64 }, { "F32", ScalarType.Float32 }, { "F16", ScalarType.Float16 },
        { "BF16", ScalarType.BFloat16 }, { "I64", ScalarType.Int64 }, { "I32", ScalarType.Int32 },
        { "I16", ScalarType.Int16 }, { "I8", ScalarType.Int8 }, { "U8", ScalarType.Byte }, { "BOOL", ScalarType.Bool },
    };

    /// <summary>Values that use the dtype's whole range: random floats, integers from the extremes, both booleans.</summary>
    private static Tensor Sample(ScalarType dtype, long[] shape, int seed)
    {
        var generator = new Generator((ulong)seed);
        if (dtype == ScalarType.Bool) return torch.randint(0, 2, shape, generator: generator).to(ScalarType.Bool);
        if (torch.is_floating_point(torch.empty(0, dtype))) return (torch.randn(shape, ScalarType.Float64, generator: generator) * 1e3).to(dtype);
        (long low, long high) = dtype switch
        {
            ScalarType.Int64 => (long.MinValue, long.MaxValue),
            ScalarType.Int32 => (int.MinValue, int.MaxValue),
            ScalarType.Int16 => (short.MinValue, short.MaxValue),
            ScalarType.Int8 => (sbyte.MinValue, sbyte.MaxValue),
            _ => (0, 255),
        };
        return torch.randint(low, high, shape, dtype, generator: generator);
    }

    [Theory]
    [MemberData(nameof(DTypes))]
    public void Every_dtype_round_trips_bit_exactly_including_empty_and_0d(string name, ScalarType dtype)
    {
        using var scope = torch.NewDisposeScope();
        var tensors = new Dictionary<string, Tensor>
        {
            ["matrix"] = Sample(dtype, new long[] { 3, 5 }, 1),
            ["empty"] = Sample(dtype, new long[] { 0, 4 }, 2),
            ["scalar"] = Sample(dtype, Array.Empty<long>(), 3),
            ["cube"] = Sample(dtype, new long[] { 2, 1, 3 }, 4),
        };
        string path = Path.Combine(_folder, name + ".safetensors");
        SafeTensorsWriter.Save(path, tensors);

        using var file = SafeTensorsFile.Open(path);
        Assert.Equal(tensors.Keys.Order(StringComparer.Ordinal), file.Tensors.Select(t => t.Name));
        foreach (var (key, expected) in tensors)
        {
            var entry = file.Entry(key);
            Assert.Equal(name, entry.DTypeName);
            Assert.Equal(expected.shape, entry.Shape);
            var actual = file.Load(key);
            Assert.Equal(dtype, actual.dtype);
            Assert.Equal(expected.shape, actual.shape);
            Assert.True(actual.bytes.SequenceEqual(expected.contiguous().bytes), $"{name} '{key}' bytes differ after the round trip");
        }
        Assert.False(File.Exists(path + ".tmp-" + Environment.ProcessId), "temporary file left behind");
    }

    [Fact]
    public void Metadata_round_trips()
    {
        using var scope = torch.NewDisposeScope();
        string path = Path.Combine(_folder, "meta.safetensors");
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "héllo ✓ \"quoted\"" };
        SafeTensorsWriter.Save(path, new Dictionary<string, Tensor> { ["x"] = torch.ones(2) }, metadata);
        using var file = SafeTensorsFile.Open(path);
        Assert.Equal(metadata, file.Metadata);
        Assert.Equal(new[] { "x" }, file.Names);
    }

    [Fact]
    public void File_without_tensors_round_trips()
    {
        string path = Path.Combine(_folder, "none.safetensors");
        SafeTensorsWriter.Save(path, new Dictionary<string, Tensor>());
        using var file = SafeTensorsFile.Open(path);
        Assert.Empty(file.Tensors);
        Assert.Empty(file.Metadata);
    }

    [Fact]
    public void Load_converts_floating_tensors_to_the_requested_dtype_and_leaves_integers_alone()
    {
        using var scope = torch.NewDisposeScope();
        string path = Path.Combine(_folder, "cast.safetensors");
        var weight = Sample(ScalarType.Float32, new long[] { 4 }, 5);
        SafeTensorsWriter.Save(path, new Dictionary<string, Tensor> { ["w"] = weight, ["i"] = torch.arange(3L) });
        using var file = SafeTensorsFile.Open(path);
        var w64 = file.Load("w", dtype: ScalarType.Float64);
        Assert.Equal(ScalarType.Float64, w64.dtype);
        Assert.True(Exact.Same(w64, weight.to(ScalarType.Float64)));
        Assert.Equal(ScalarType.Int64, file.Load("i", dtype: ScalarType.Float64).dtype);
    }

    [Fact]
    public void Reads_a_diffusers_written_checkpoint()
    {
        // Written by diffusers save_pretrained; 69 tensors, 21,784 float32 parameters, metadata format=pt
        // (counted from the header with Python's json module).
        using var file = SafeTensorsFile.Open(TestSupport.Fixtures.Path("wan_t2v", "diffusion_pytorch_model.safetensors"));
        Assert.Equal(69, file.Tensors.Count);
        Assert.Equal(21_784, file.Tensors.Sum(t => t.ElementCount));
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.All(file.Tensors, t => Assert.Equal("F32", t.DTypeName));
    }
}
