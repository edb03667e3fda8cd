using System.Text;

namespace VDiTLens.Tests.IO;

/// <summary>
/// Hand-built safetensors bytes, valid and damaged one way each, with a fragment the refusal message must contain
/// and the tensor it must name (null where no tensor is involved).
/// </summary>
public static class DamagedFiles
{
    public sealed record Damage(string Name, byte[] Bytes, string MessageFragment, string? Tensor);

    /// <summary>Two tensors, 'a' F32 [2] at [0, 8) and 'b' I8 [3] at [8, 11).</summary>
    public const string ValidHeader =
        """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I8","shape":[3],"data_offsets":[8,11]}}""";

    public static byte[] Data(int length) => Enumerable.Range(1, length).Select(i => (byte)i).ToArray();

    public static byte[] Build(string headerJson, byte[] data, ulong? lengthField = null) =>
        Build(Encoding.UTF8.GetBytes(headerJson), data, lengthField);

    public static byte[] Build(byte[] header, byte[] data, ulong? lengthField = null) =>
        [.. BitConverter.GetBytes(lengthField ?? (ulong)header.Length), .. header, .. data];

    private static byte[] OneTensor(string dtype, string shape, string offsets, int dataLength) =>
        Build($$$"""{"t":{"dtype":"{{{dtype}}}","shape":{{{shape}}},"data_offsets":{{{offsets}}}}}""", Data(dataLength));

    public static IReadOnlyList<Damage> All { get; } = new Damage[]
    {
        new("header-length-past-end", Build(ValidHeader, Data(11), lengthField: 1000), "runs past the end of the file", null),
        new("header-length-huge", Build(ValidHeader, Data(11), lengthField: ulong.MaxValue), "runs past the end of the file", null),
        new("shorter-than-8-bytes", new byte[] { 1, 0, 0, 0, 0 }, "shorter than the 8-byte header length", null),
        new("empty-file", Array.Empty<byte>(), "file is 0 bytes", null),
        new("invalid-json", Build("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]""", Data(8)), "not valid JSON", null),
        new("header-not-object", Build("[1,2]", Array.Empty<byte>()), "not an object", null),
        new("non-utf8-header", Build([.. "{\"a"u8, 0xFF, .. "\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}"u8], Data(8)),
            "not valid UTF-8", null),
        new("offsets-out-of-range", OneTensor("F32", "[4]", "[0,16]", 8), "out of range", "t"),
        new("offsets-reversed", OneTensor("F32", "[0]", "[8,4]", 8), "not an ordered pair", "t"),
        new("offsets-not-numbers", OneTensor("F32", "[1]", "[true,4]", 4), "are not integers", "t"),
        new("offsets-not-a-pair", OneTensor("F32", "[1]", "[0,4,8]", 4), "array of two integers", "t"),
        new("overlapping-tensors", Build("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I8","shape":[3],"data_offsets":[6,9]}}""", Data(9)),
            "overlaps tensor 'a'", "b"),
        new("gap-between-tensors", Build("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I8","shape":[3],"data_offsets":[12,15]}}""", Data(15)),
            "gap of 4 unindexed bytes", "b"),
        new("trailing-unindexed-bytes", Build(ValidHeader, Data(14)), "3 bytes at the end of the data section belong to no tensor", null),
        new("shape-size-mismatch", OneTensor("F32", "[3]", "[0,8]", 8), "is 12 bytes but data_offsets span 8", "t"),
        new("negative-dim", OneTensor("F32", "[-2]", "[0,8]", 8), "not a non-negative integer", "t"),
        new("non-integer-dim", OneTensor("F32", "[2.5]", "[0,8]", 8), "not a non-negative integer", "t"),
        new("dim-beyond-int64", OneTensor("F32", "[18446744073709551616]", "[0,8]", 8), "not a non-negative integer", "t"),
        new("dims-overflow-int64", OneTensor("F32", "[4294967296,4294967296,4294967296]", "[0,8]", 8), "impossibly large", "t"),
        new("zero-dim-with-overflowing-dims", OneTensor("F32", "[0,4611686018427387904,4]", "[0,0]", 0), "impossibly large", "t"),
        new("unknown-dtype", OneTensor("F8_E4M3", "[8]", "[0,8]", 8), "unknown dtype 'F8_E4M3'", "t"),
        new("duplicate-tensor-names", Build("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"I8","shape":[3],"data_offsets":[8,11]}}""", Data(11)),
            "appears twice", "a"),
        new("duplicate-key-in-entry", Build("""{"t":{"dtype":"F32","dtype":"I8","shape":[8],"data_offsets":[0,8]}}""", Data(8)),
            "key 'dtype' appears twice", "t"),
        new("duplicate-metadata-key", Build("""{"__metadata__":{"format":"pt","format":"np"}}""", Array.Empty<byte>()), "key 'format' appears twice", null),
        new("metadata-not-strings", Build("""{"__metadata__":{"format":1}}""", Array.Empty<byte>()), "is not a string", null),
    };

    public static Damage Get(string name) => All.Single(d => d.Name == name);
}
