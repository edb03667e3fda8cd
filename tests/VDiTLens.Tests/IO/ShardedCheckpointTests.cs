using System.Text.Json;
using TorchSharp;
using VDiTLens.IO;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.Tests.IO;

public sealed class ShardedCheckpointTests : IDisposable
{
    private const string IndexName = "diffusion_pytorch_model.safetensors.index.json";
    private readonly string _folder = Directory.CreateTempSubdirectory("vditlens-sharded-").FullName;
    private readonly Dictionary<string, Tensor> _first;
    private readonly Dictionary<string, Tensor> _second;

    public ShardedCheckpointTests()
    {
        TorchRuntime.Initialise();
        _first = new() { ["blocks.0.weight"] = torch.randn(3, 4), ["blocks.0.bias"] = torch.randn(4) };
        _second = new() { ["blocks.1.weight"] = torch.randn(2, 2).to(ScalarType.BFloat16), ["step"] = torch.tensor(7L) };
        SafeTensorsWriter.Save(Path.Combine(_folder, "part-00001.safetensors"), _first);
        SafeTensorsWriter.Save(Path.Combine(_folder, "part-00002.safetensors"), _second);
    }

    public void Dispose()
    {
        foreach (var t in _first.Values.Concat(_second.Values)) t.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    private string WriteIndex(Dictionary<string, string> weightMap)
    {
        string path = Path.Combine(_folder, IndexName);
        File.WriteAllText(path, JsonSerializer.Serialize(new { metadata = new { total_size = 0 }, weight_map = weightMap }));
        return path;
    }

    private Dictionary<string, string> CorrectMap() =>
        _first.Keys.ToDictionary(k => k, _ => "part-00001.safetensors")
            .Concat(_second.Keys.ToDictionary(k => k, _ => "part-00002.safetensors"))
            .ToDictionary();

    [Fact]
    public void Folder_with_an_index_loads_every_tensor_from_its_shard()
    {
        WriteIndex(CorrectMap());
        using var source = Checkpoint.Open(_folder);
        Assert.IsType<ShardedCheckpoint>(source);
        Assert.Equal(CorrectMap().Keys.Order(), source.Names.Order());
        foreach (var (name, expected) in _first.Concat(_second))
        {
            using var actual = source.Load(name);
            Assert.Equal(expected.dtype, actual.dtype);
            Assert.True(Exact.Same(actual, expected), name);
            Assert.Equal(expected.shape, source.Entry(name).Shape);
        }
    }

    [Fact]
    public void Index_path_opens_directly()
    {
        string index = WriteIndex(CorrectMap());
        using var source = Checkpoint.Open(index);
        Assert.Equal(index, source.Description);
        Assert.Equal(4, source.Names.Count);
    }

    [Fact]
    public void Index_pointing_at_a_missing_shard_names_the_index_and_the_shard()
    {
        var map = CorrectMap();
        map["blocks.1.weight"] = "part-00003.safetensors";
        string index = WriteIndex(map);
        var e = Assert.Throws<VDiTLensException>(() => ShardedCheckpoint.Open(index));
        Assert.StartsWith(index + ": ", e.Message);
        Assert.Contains("shard 'part-00003.safetensors' is missing", e.Message);
    }

    [Fact]
    public void Index_mapping_a_tensor_to_a_shard_without_it_names_tensor_and_shard()
    {
        var map = CorrectMap();
        map["blocks.1.weight"] = "part-00001.safetensors";
        string index = WriteIndex(map);
        var e = Assert.Throws<VDiTLensException>(() => ShardedCheckpoint.Open(index));
        Assert.StartsWith(index + ": ", e.Message);
        Assert.Contains("tensor 'blocks.1.weight' is mapped to 'part-00001.safetensors', which does not contain it", e.Message);
    }

    [Fact]
    public void Shard_tensor_missing_from_the_index_is_reported()
    {
        var map = CorrectMap();
        map.Remove("step");
        WriteIndex(map);
        var e = Assert.Throws<VDiTLensException>(() => Checkpoint.Open(_folder));
        Assert.Contains("part-00002.safetensors: tensor 'step' is not listed in " + IndexName, e.Message);
    }

    [Fact]
    public void Shard_name_outside_the_folder_is_refused()
    {
        var map = CorrectMap();
        map["step"] = "../part-00002.safetensors";
        string index = WriteIndex(map);
        var e = Assert.Throws<VDiTLensException>(() => ShardedCheckpoint.Open(index));
        Assert.Contains("must be a file name in the same folder", e.Message);
    }

    [Theory]
    [InlineData("[1, 2]", "no 'weight_map' object")]
    [InlineData("{\"weight_map\": [] }", "no 'weight_map' object")]
    [InlineData("{\"weight_map\": {\"a\": 3} }", "weight_map entry 'a' is not a file name")]
    [InlineData("{\"weight_map\": {", "not valid JSON")]
    [InlineData("{\"weight_map\": {\"a\": \"x\", \"a\": \"y\"} }", "tensor 'a' appears twice")]
    public void Malformed_index_is_refused_naming_the_index(string json, string fragment)
    {
        string index = Path.Combine(_folder, IndexName);
        File.WriteAllText(index, json);
        var e = Assert.Throws<VDiTLensException>(() => ShardedCheckpoint.Open(index));
        Assert.StartsWith(index + ": ", e.Message);
        Assert.Contains(fragment, e.Message);
    }

    [Fact]
    public void Index_with_invalid_utf8_is_refused_naming_the_index()
    {
        string index = Path.Combine(_folder, IndexName);
        File.WriteAllBytes(index, [.. "{\"weight_map\": {\"a"u8, 0xC0, 0x80, .. "\": \"part-00001.safetensors\"}}"u8]);
        var e = Assert.Throws<VDiTLensException>(() => ShardedCheckpoint.Open(index));
        Assert.StartsWith(index + ": not valid UTF-8", e.Message);
    }
}
