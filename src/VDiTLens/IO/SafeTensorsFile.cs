using System.IO.MemoryMappedFiles;
using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.IO;

/// <summary>
/// A memory-mapped safetensors file. The header is validated on open; tensors are copied one at a time from
/// the mapping into native tensor memory and moved to their device, so no file is read whole into managed memory.
/// </summary>
public sealed class SafeTensorsFile : ITensorSource
{
    private readonly Dictionary<string, TensorEntry> _byName = new();
    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private readonly long _dataStart;

    public string Path { get; }
    public IReadOnlyList<TensorEntry> Tensors { get; } = Array.Empty<TensorEntry>();
    public IReadOnlyDictionary<string, string> Metadata { get; } = new Dictionary<string, string>();
    public string Description => Path;
    public IReadOnlyCollection<string> Names => _byName.Keys;

    private SafeTensorsFile(string path)
    {
        Path = path;
        if (!File.Exists(path))
            throw new VDiTLensException($"{path}: file not found");
        FileStream? stream = null;
        try
        {
            // The header is validated and the data mapped through one handle, so both see the same file.
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            (Tensors, Metadata, _dataStart) = SafeTensorsHeader.Read(stream, path);
            _byName = Tensors.ToDictionary(t => t.Name);
            _map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read,
                HandleInheritability.None, leaveOpen: false);
            stream = null; // owned by the map now
            _view = _map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Dispose();
            throw new VDiTLensException($"{path}: cannot read ({e.Message})", e);
        }
        catch
        {
            Dispose();
            throw;
        }
        finally
        {
            stream?.Dispose();
        }
    }

    public static SafeTensorsFile Open(string path) => new(path);

    public TensorEntry Entry(string name) =>
        _byName.TryGetValue(name, out var e) ? e : throw new VDiTLensException($"{Path}: no tensor named '{name}'");

    public bool Contains(string name) => _byName.ContainsKey(name);

    public Tensor Load(string name, Device? device = null, ScalarType? dtype = null)
    {
        var entry = Entry(name);
        var cpu = torch.empty(entry.Shape, entry.DType, torch.CPU);
        CopyInto(entry, cpu);
        return NativeMemory.MoveTo(cpu, device, dtype);
    }

    /// <summary>Loads every tensor (small files: fixtures, inputs).</summary>
    public Dictionary<string, Tensor> LoadAll(Device? device = null, ScalarType? dtype = null) =>
        Tensors.ToDictionary(t => t.Name, t => Load(t.Name, device, dtype));

    private unsafe void CopyInto(TensorEntry entry, Tensor destination)
    {
        if (entry.ByteCount == 0) return;
        byte* basePointer = null;
        _view!.SafeMemoryMappedViewHandle.AcquirePointer(ref basePointer);
        try
        {
            byte* source = basePointer + _view.PointerOffset + _dataStart + entry.Begin;
            NativeMemory.CopyToTensor(source, entry.ByteCount, destination);
        }
        finally
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
        }
    }

    public void Dispose()
    {
        _view?.Dispose();
        _map?.Dispose();
    }
}
