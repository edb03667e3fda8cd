using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace VDiTLens.IO;

/// <summary>
/// Writes tensors as diffusers-style shards <c>{stem}-0000i-of-0000n.safetensors</c> of at most a given size (one
/// tensor larger than that gets a shard of its own) and the <c>{stem}.safetensors.index.json</c> weight map that
/// <see cref="ShardedCheckpoint"/> reads. Tensors are cast to <paramref name="dtype"/> on the way.
/// </summary>
public static class ShardedSafeTensorsWriter
{
    public static void Save(string folder, string stem, IEnumerable<KeyValuePair<string, Tensor>> tensors, ScalarType dtype, long maxShardBytes)
    {
        if (maxShardBytes < 1) throw new VDiTLensException($"maxShardBytes is {maxShardBytes}; a shard must hold at least one byte");
        var ordered = tensors.OrderBy(t => t.Key, StringComparer.Ordinal).ToList();
        long elementBytes = SafeTensorsDType.SizeOf(dtype);
        var shards = new List<List<KeyValuePair<string, Tensor>>>();
        long current = 0, total = 0;
        foreach (var t in ordered)
        {
            long bytes = t.Value.numel() * elementBytes;
            if (shards.Count == 0 || (current > 0 && current + bytes > maxShardBytes)) { shards.Add(new()); current = 0; }
            shards[^1].Add(t);
            current += bytes;
            total += bytes;
        }
        var map = new JsonObject();
        for (int i = 0; i < shards.Count; i++)
        {
            string file = $"{stem}-{i + 1:D5}-of-{shards.Count:D5}.safetensors";
            var cast = shards[i].Select(t => KeyValuePair.Create(t.Key, t.Value.to(dtype))).ToList();
            try { SafeTensorsWriter.Save(Path.Combine(folder, file), cast); }
            finally { foreach (var c in cast) if (!ReferenceEquals(c.Value, shards[i].First(t => t.Key == c.Key).Value)) c.Value.Dispose(); }
            foreach (var t in shards[i]) map[t.Key] = file;
        }
        var index = new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = total }, ["weight_map"] = map };
        File.WriteAllText(Path.Combine(folder, $"{stem}.safetensors.index.json"), index.ToJsonString(new() { WriteIndented = true }) + "\n");
    }
}
