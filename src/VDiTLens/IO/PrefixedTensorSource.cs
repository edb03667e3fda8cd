using static TorchSharp.torch;

namespace VDiTLens.IO;

/// <summary>
/// Presents another source's tensors under <c>prefix + name</c> (e.g. a transformers 5 <c>CLIPTextModel</c>
/// checkpoint, saved without the <c>text_model.</c> its older checkpoints carry). Owns the inner source.
/// </summary>
public sealed class PrefixedTensorSource(ITensorSource inner, string prefix) : ITensorSource
{
    private readonly HashSet<string> _names = inner.Names.Select(n => prefix + n).ToHashSet(StringComparer.Ordinal);

    public string Description => inner.Description;
    public IReadOnlyCollection<string> Names => _names;

    public TensorEntry Entry(string name) => inner.Entry(Strip(name)) with { Name = name };

    public Tensor Load(string name, Device? device = null, ScalarType? dtype = null) => inner.Load(Strip(name), device, dtype);

    private string Strip(string name) =>
        name.StartsWith(prefix, StringComparison.Ordinal) ? name[prefix.Length..] : throw new KeyNotFoundException(name);

    public void Dispose() => inner.Dispose();
}
