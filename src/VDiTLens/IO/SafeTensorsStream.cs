using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.IO;

/// <summary>
/// Writes a safetensors file whose last tensor is streamed in row blocks, so a tensor larger than memory can be
/// written: the small tensors and the streamed tensor's dtype and shape are fixed up front (the header needs them),
/// then <see cref="Append"/> adds rows in order and <see cref="Complete"/> checks that every row came and renames
/// the temporary file into place. Disposing an incomplete stream deletes the temporary file.
/// </summary>
public sealed class SafeTensorsStream : IDisposable
{
    private readonly string _path, _temporary;
    private readonly FileStream _stream;
    private readonly ScalarType _dtype;
    private readonly long _rowLength, _rows;
    private long _rowsWritten;
    private bool _complete;

    public SafeTensorsStream(string path, IReadOnlyList<KeyValuePair<string, Tensor>> fixedTensors, string streamedName,
        ScalarType streamedType, long rows, long rowLength, IReadOnlyDictionary<string, string>? metadata = null)
    {
        if (rows < 1 || rowLength < 1) throw new VDiTLensException($"streamed tensor '{streamedName}' must have at least one row and column (got {rows} × {rowLength})");
        _path = path;
        _dtype = streamedType;
        _rows = rows;
        _rowLength = rowLength;
        var entries = new List<(string, string, long[], long, long)>();
        long offset = 0;
        foreach (var (name, t) in fixedTensors)
        {
            long bytes = t.numel() * SafeTensorsDType.SizeOf(t.dtype);
            entries.Add((name, SafeTensorsDType.NameOf(t.dtype), t.shape, offset, offset + bytes));
            offset += bytes;
        }
        entries.Add((streamedName, SafeTensorsDType.NameOf(streamedType), new[] { rows, rowLength }, offset,
            offset + rows * rowLength * SafeTensorsDType.SizeOf(streamedType)));
        var header = SafeTensorsHeader.Encode(entries, metadata);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        _temporary = path + ".tmp-" + Environment.ProcessId;
        _stream = new FileStream(_temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        _stream.Write(BitConverter.GetBytes((ulong)header.Length));
        _stream.Write(header);
        foreach (var (_, t) in fixedTensors)
        {
            using var scope = torch.NewDisposeScope();
            NativeMemory.WriteTensor(t.detach().cpu().contiguous(), _stream);
        }
    }

    public long RowsWritten => _rowsWritten;

    /// <summary>Appends rows [r, rowLength] (converted to the streamed dtype).</summary>
    public void Append(Tensor rows)
    {
        if (rows.dim() != 2 || rows.shape[1] != _rowLength)
            throw new VDiTLensException($"streamed rows must be [r, {_rowLength}], got [{string.Join(", ", rows.shape)}]");
        if (_rowsWritten + rows.shape[0] > _rows)
            throw new VDiTLensException($"streamed tensor has {_rows} rows; {_rowsWritten + rows.shape[0]} were given");
        using var scope = torch.NewDisposeScope();
        NativeMemory.WriteTensor(rows.detach().to(_dtype).cpu().contiguous(), _stream);
        _rowsWritten += rows.shape[0];
    }

    public void Complete()
    {
        if (_rowsWritten != _rows) throw new VDiTLensException($"streamed tensor got {_rowsWritten} of its {_rows} rows");
        _stream.Flush(true);
        _stream.Dispose();
        File.Move(_temporary, _path, overwrite: true);
        _complete = true;
    }

    public void Dispose()
    {
        if (_complete) return;
        _stream.Dispose();
        if (File.Exists(_temporary)) File.Delete(_temporary);
    }
}
