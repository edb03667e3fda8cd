namespace VDiTLens.IO.Fuzzing;

/// <summary>Small valid safetensors files to mutate: every dtype, empty and 0-d tensors, metadata, no tensors.</summary>
public static class FuzzSeeds
{
    private sealed record Spec(string Name, string DType, long[] Shape);

    public static IReadOnlyList<byte[]> BuiltIn()
    {
        var random = new Random(20240601);
        return new[]
        {
            Build(random, new Dictionary<string, string> { ["format"] = "pt" },
                new Spec("blocks.0.attn.to_q.weight", "F32", new long[] { 2, 3 }),
                new Spec("blocks.0.attn.to_q.bias", "F32", new long[] { 3 }),
                new Spec("step", "I64", Array.Empty<long>())),
            Build(random, null,
                new Spec("f64", "F64", new long[] { 2 }), new Spec("f32", "F32", new long[] { 1, 2 }),
                new Spec("f16", "F16", new long[] { 3 }), new Spec("bf16", "BF16", new long[] { 2, 2 }),
                new Spec("i64", "I64", new long[] { 1 }), new Spec("i32", "I32", new long[] { 2 }),
                new Spec("i16", "I16", new long[] { 3 }), new Spec("i8", "I8", new long[] { 5 }),
                new Spec("u8", "U8", new long[] { 4 }), new Spec("bool", "BOOL", new long[] { 3 }),
                new Spec("empty", "F32", new long[] { 0, 4 }), new Spec("scalar", "F16", Array.Empty<long>())),
            Build(random, new Dictionary<string, string> { ["format"] = "pt", ["note"] = "héllo ✓" },
                new Spec("emb.é", "BF16", new long[] { 4, 4 }), new Spec("gain", "F16", new long[] { 8 })),
            Build(random, null),
            Build(random, new Dictionary<string, string> { ["only"] = "metadata" },
                new Spec("a", "U8", new long[] { 0 }), new Spec("b", "I8", new long[] { 1, 1, 1 })),
        };
    }

    private static byte[] Build(Random random, IReadOnlyDictionary<string, string>? metadata, params Spec[] specs)
    {
        var entries = new List<(string, string, long[], long, long)>();
        long offset = 0;
        foreach (var s in specs)
        {
            SafeTensorsDType.TryParse(s.DType, out _, out int size);
            long bytes = size * s.Shape.Aggregate(1L, (a, b) => a * b);
            entries.Add((s.Name, s.DType, s.Shape, offset, offset + bytes));
            offset += bytes;
        }
        var header = SafeTensorsHeader.Encode(entries, metadata);
        var file = new byte[8 + header.Length + offset];
        BitConverter.GetBytes((ulong)header.Length).CopyTo(file, 0);
        header.CopyTo(file, 8);
        var data = file.AsSpan(8 + header.Length);
        random.NextBytes(data);
        foreach (var (name, dtype, _, begin, end) in entries)
            if (dtype == "BOOL")
                for (long i = begin; i < end; i++) data[(int)i] &= 1; // valid booleans only
        return file;
    }
}
