using static TorchSharp.torch;

namespace VDiTLens.IO;

/// <summary>One tensor described by a safetensors header; offsets are relative to the data section.</summary>
public sealed record TensorEntry(string Name, string DTypeName, ScalarType DType, long[] Shape, long Begin, long End)
{
    public long ByteCount => End - Begin;
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}
