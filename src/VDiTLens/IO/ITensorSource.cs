using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.IO;

/// <summary>Named tensors that can be read one at a time (a safetensors file, or the shards of a checkpoint).</summary>
public interface ITensorSource : IDisposable
{
    /// <summary>Where the tensors come from, for messages.</summary>
    string Description { get; }

    IReadOnlyCollection<string> Names { get; }

    TensorEntry Entry(string name);

    /// <summary>Reads one tensor straight to <paramref name="device"/>, converted to <paramref name="dtype"/> if given.</summary>
    Tensor Load(string name, Device? device = null, ScalarType? dtype = null);
}
