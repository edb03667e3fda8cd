using System.Text;
using System.Text.Json;

namespace VDiTLens.IO;

/// <summary>
/// Parses and strictly validates a safetensors header. Every check happens before any tensor memory is
/// touched, so a lying header ends in a <see cref="VDiTLensException"/> naming the file and tensor, never in
/// a crash, a hang or a huge allocation.
/// </summary>
public static class SafeTensorsHeader
{
    /// <summary>Headers are JSON text; real ones are at most a few MB. Anything larger is refused.</summary>
    public const long MaxHeaderBytes = 100L * 1024 * 1024;

    public static (IReadOnlyList<TensorEntry> Tensors, IReadOnlyDictionary<string, string> Metadata, long DataStart)
        Read(Stream stream, string path)
    {
        long fileLength = stream.Length;
        if (fileLength < 8)
            throw Fail(path, $"file is {fileLength} bytes, shorter than the 8-byte header length");
        Span<byte> lengthBytes = stackalloc byte[8];
        stream.Position = 0;
        stream.ReadExactly(lengthBytes);
        ulong headerLength = BitConverter.ToUInt64(lengthBytes);
        if (headerLength > (ulong)(fileLength - 8))
            throw Fail(path, $"header length {headerLength} runs past the end of the file ({fileLength} bytes); the file is truncated or not safetensors");
        if (headerLength > MaxHeaderBytes)
            throw Fail(path, $"header length {headerLength} exceeds the {MaxHeaderBytes} byte limit");
        var header = new byte[headerLength];
        stream.ReadExactly(header);
        long dataStart = 8 + (long)headerLength;
        return (Parse(header, path, fileLength - dataStart, out var metadata), metadata, dataStart);
    }

    private static List<TensorEntry> Parse(byte[] header, string path, long dataLength,
        out Dictionary<string, string> metadata)
    {
        metadata = new Dictionary<string, string>();
        int invalid = Utf8Text.FirstInvalidByte(header);
        if (invalid >= 0)
            throw Fail(path, $"header is not valid UTF-8 (byte 0x{header[invalid]:X2} at header offset {invalid}); the file is damaged or not safetensors");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw Fail(path, $"header is not valid JSON ({e.Message})");
        }
        catch (ArgumentException e)
        {
            throw Fail(path, $"header is not valid UTF-8 JSON ({e.Message})");
        }
        using var _ = doc;
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
            throw Fail(path, "header JSON is not an object");

        var tensors = new List<TensorEntry>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in doc.RootElement.EnumerateObject())
        {
            if (!seen.Add(property.Name))
                throw Fail(path, $"tensor '{property.Name}' appears twice in the header");
            if (property.Name == "__metadata__")
            {
                ReadMetadata(property.Value, path, metadata);
                continue;
            }
            tensors.Add(ReadEntry(property.Name, property.Value, path, dataLength));
        }
        CheckCoverage(tensors, path, dataLength);
        return tensors;
    }

    private static void ReadMetadata(JsonElement value, string path, Dictionary<string, string> metadata)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw Fail(path, "__metadata__ is not an object of strings");
        if (DuplicateKey(value) is { } key)
            throw Fail(path, $"__metadata__ key '{key}' appears twice");
        foreach (var item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
                throw Fail(path, $"__metadata__ entry '{item.Name}' is not a string");
            metadata[item.Name] = item.Value.GetString()!;
        }
    }

    private static TensorEntry ReadEntry(string name, JsonElement value, string path, long dataLength)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw Fail(path, $"tensor '{name}': entry is not an object");
        if (DuplicateKey(value) is { } key)
            throw Fail(path, $"tensor '{name}': key '{key}' appears twice");
        if (!value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw Fail(path, $"tensor '{name}': missing or non-string 'dtype'");
        string dtypeName = dtypeElement.GetString()!;
        if (!SafeTensorsDType.TryParse(dtypeName, out var dtype, out int elementSize))
            throw Fail(path, $"tensor '{name}': unknown dtype '{dtypeName}' (supported: {string.Join(", ", SafeTensorsDType.Names)})");

        if (!value.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
            throw Fail(path, $"tensor '{name}': missing or non-array 'shape'");
        var shape = new List<long>();
        foreach (var dim in shapeElement.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out long d) || d < 0)
                throw Fail(path, $"tensor '{name}': shape {shapeElement.GetRawText()} has a dimension that is not a non-negative integer");
            shape.Add(d);
        }
        if (shape.Count > 16)
            throw Fail(path, $"tensor '{name}': shape has {shape.Count} dimensions (at most 16 supported)");

        if (!value.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array
            || offsets.GetArrayLength() != 2)
            throw Fail(path, $"tensor '{name}': 'data_offsets' must be an array of two integers");
        var pair = offsets.EnumerateArray().ToArray();
        if (pair[0].ValueKind != JsonValueKind.Number || pair[1].ValueKind != JsonValueKind.Number
            || !pair[0].TryGetInt64(out long begin) || !pair[1].TryGetInt64(out long end))
            throw Fail(path, $"tensor '{name}': 'data_offsets' {offsets.GetRawText()} are not integers");
        if (begin < 0 || end < begin)
            throw Fail(path, $"tensor '{name}': data_offsets [{begin}, {end}] are not an ordered pair of non-negative offsets");
        if (end > dataLength)
            throw Fail(path, $"tensor '{name}': data_offsets [{begin}, {end}] are out of range (the data section has {dataLength} bytes)");

        // The non-zero dims must multiply without overflow even when another dim is 0: libtorch computes
        // strides from them: torch.empty([0, 2^62, 4]) throws ExternalException "Stride calculation overflowed".
        long expected = elementSize;
        bool empty = false;
        foreach (long d in shape)
        {
            if (d == 0) { empty = true; continue; }
            if (expected > long.MaxValue / d)
                throw Fail(path, $"tensor '{name}': shape [{string.Join(", ", shape)}] is impossibly large");
            expected *= d;
        }
        if (empty) expected = 0;
        if (expected != end - begin)
            throw Fail(path, $"tensor '{name}': shape [{string.Join(", ", shape)}] × {dtypeName} is {expected} bytes but data_offsets span {end - begin}");
        return new TensorEntry(name, dtypeName, dtype, shape.ToArray(), begin, end);
    }

    /// <summary>System.Text.Json keeps repeated keys and TryGetProperty picks one silently; we refuse them.</summary>
    private static string? DuplicateKey(JsonElement obj)
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in obj.EnumerateObject())
            if (!keys.Add(p.Name)) return p.Name;
        return null;
    }

    private static void CheckCoverage(List<TensorEntry> tensors, string path, long dataLength)
    {
        long cursor = 0;
        TensorEntry? previous = null;
        foreach (var t in tensors.OrderBy(t => t.Begin).ThenBy(t => t.End))
        {
            if (t.Begin < cursor)
                throw Fail(path, $"tensor '{t.Name}' overlaps tensor '{previous!.Name}' (bytes {t.Begin}..{cursor})");
            if (t.Begin > cursor)
                throw Fail(path, $"gap of {t.Begin - cursor} unindexed bytes before tensor '{t.Name}' (at {cursor})");
            cursor = t.End;
            previous = t;
        }
        if (cursor != dataLength)
            throw Fail(path, $"{dataLength - cursor} bytes at the end of the data section belong to no tensor");
    }

    private static VDiTLensException Fail(string path, string problem) =>
        new($"{path}: {problem}");

    internal static byte[] Encode(IEnumerable<(string Name, string DType, long[] Shape, long Begin, long End)> entries,
        IReadOnlyDictionary<string, string>? metadata)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata) w.WriteString(k, v);
                w.WriteEndObject();
            }
            foreach (var e in entries)
            {
                w.WriteStartObject(e.Name);
                w.WriteString("dtype", e.DType);
                w.WriteStartArray("shape");
                foreach (long d in e.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(e.Begin);
                w.WriteNumberValue(e.End);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        var json = buffer.ToArray();
        int padded = (json.Length + 7) / 8 * 8; // align the data section to 8 bytes, padding with spaces
        var result = new byte[padded];
        json.CopyTo(result, 0);
        for (int i = json.Length; i < padded; i++) result[i] = (byte)' ';
        return result;
    }
}
