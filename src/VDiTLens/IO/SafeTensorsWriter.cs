using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.IO;

/// <summary>Writes tensors to a safetensors file, one tensor at a time, atomically (temporary file, then rename).</summary>
public static class SafeTensorsWriter
{
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.ToList();
        var entries = new List<(string, string, long[], long, long)>();
        long offset = 0;
        foreach (var (name, t) in list)
        {
            string dtype = SafeTensorsDType.NameOf(t.dtype);
            long bytes = t.numel() * SafeTensorsDType.SizeOf(t.dtype);
            entries.Add((name, dtype, t.shape, offset, offset + bytes));
            offset += bytes;
        }
        var header = SafeTensorsHeader.Encode(entries, metadata);
        string directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        string temporary = path + ".tmp-" + Environment.ProcessId;
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            stream.Write(BitConverter.GetBytes((ulong)header.Length));
            stream.Write(header);
            foreach (var (_, t) in list)
            {
                using var scope = torch.NewDisposeScope();
                var cpu = t.detach().cpu().contiguous();
                NativeMemory.WriteTensor(cpu, stream);
            }
            stream.Flush(true);
        }
        File.Move(temporary, path, overwrite: true);
    }

    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors,
        IReadOnlyDictionary<string, string>? metadata = null) =>
        Save(path, tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal), metadata);
}
