using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.IO;

/// <summary>A checkpoint split into shards by a <c>*.safetensors.index.json</c> weight map.</summary>
public sealed class ShardedCheckpoint : ITensorSource
{
    private readonly Dictionary<string, SafeTensorsFile> _shardOf = new();
    private readonly List<SafeTensorsFile> _shards = new();

    public string Description { get; }
    public IReadOnlyCollection<string> Names => _shardOf.Keys;

    private ShardedCheckpoint(string indexPath)
    {
        Description = indexPath;
        string folder = Path.GetDirectoryName(Path.GetFullPath(indexPath))!;
        Dictionary<string, string> weightMap;
        try
        {
            var bytes = ReadIndexBytes(indexPath);
            int invalid = Utf8Text.FirstInvalidByte(bytes);
            if (invalid >= 0)
                throw new VDiTLensException($"{indexPath}: not valid UTF-8 (byte 0x{bytes[invalid]:X2} at offset {invalid})");
            using var doc = JsonDocument.Parse(bytes);
            if (doc.RootElement.ValueKind != JsonValueKind.Object
                || !doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new VDiTLensException($"{indexPath}: no 'weight_map' object");
            weightMap = new Dictionary<string, string>();
            foreach (var p in map.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.String)
                    throw new VDiTLensException($"{indexPath}: weight_map entry '{p.Name}' is not a file name");
                if (!weightMap.TryAdd(p.Name, p.Value.GetString()!))
                    throw new VDiTLensException($"{indexPath}: tensor '{p.Name}' appears twice in weight_map");
            }
        }
        catch (JsonException e)
        {
            throw new VDiTLensException($"{indexPath}: not valid JSON ({e.Message})");
        }

        var opened = new Dictionary<string, SafeTensorsFile>();
        try
        {
            foreach (var shardName in weightMap.Values.Distinct())
            {
                if (shardName.Contains('/') || shardName.Contains('\\') || shardName.Contains(".."))
                    throw new VDiTLensException($"{indexPath}: shard name '{shardName}' must be a file name in the same folder");
                string shardPath = Path.Combine(folder, shardName);
                if (!File.Exists(shardPath))
                    throw new VDiTLensException($"{indexPath}: shard '{shardName}' is missing (expected at {shardPath})");
                var shard = SafeTensorsFile.Open(shardPath);
                opened[shardName] = shard;
                _shards.Add(shard);
            }
            foreach (var (tensor, shardName) in weightMap)
            {
                var shard = opened[shardName];
                if (!shard.Contains(tensor))
                    throw new VDiTLensException($"{indexPath}: tensor '{tensor}' is mapped to '{shardName}', which does not contain it");
                _shardOf[tensor] = shard;
            }
            foreach (var shard in _shards)
                foreach (var name in shard.Names)
                    if (!_shardOf.TryGetValue(name, out var owner) || owner != shard)
                        throw new VDiTLensException($"{shard.Path}: tensor '{name}' is not listed in {Path.GetFileName(indexPath)}'s weight_map");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Index files list tensor names only; real ones are well under a few MB.</summary>
    public const long MaxIndexBytes = 64L * 1024 * 1024;

    private static byte[] ReadIndexBytes(string indexPath)
    {
        try
        {
            long length = new FileInfo(indexPath).Length;
            if (length > MaxIndexBytes)
                throw new VDiTLensException($"{indexPath}: {length} bytes, larger than the {MaxIndexBytes} byte limit for an index file");
            return File.ReadAllBytes(indexPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new VDiTLensException($"{indexPath}: cannot read ({e.Message})", e);
        }
    }

    public static ShardedCheckpoint Open(string indexPath) =>
        File.Exists(indexPath) ? new ShardedCheckpoint(indexPath) : throw new VDiTLensException($"{indexPath}: file not found");

    public TensorEntry Entry(string name) =>
        _shardOf.TryGetValue(name, out var shard) ? shard.Entry(name) : throw new VDiTLensException($"{Description}: no tensor named '{name}'");

    public Tensor Load(string name, Device? device = null, ScalarType? dtype = null) =>
        _shardOf.TryGetValue(name, out var shard) ? shard.Load(name, device, dtype) : throw new VDiTLensException($"{Description}: no tensor named '{name}'");

    public void Dispose()
    {
        foreach (var s in _shards) s.Dispose();
        _shards.Clear();
    }
}
