using System.Globalization;
using VDiTLens.IO;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Maps;

/// <summary>
/// Streams a map to a safetensors file: <c>map</c> [rows, columns] in the chosen dtype, written block by block, with
/// <c>query_positions</c> and <c>key_positions</c> (int64, the selected token positions before pooling) and the
/// call in the metadata (site, step, branch, batch_row, head, pool).
/// </summary>
public sealed class SafeTensorsMapSink(string path, ScalarType dtype) : IMapSink, IDisposable
{
    private SafeTensorsStream? _stream;

    public string Path { get; } = path;

    public void Begin(MapGeometry g)
    {
        var metadata = new Dictionary<string, string>
        {
            ["site"] = g.Site, ["step"] = g.Step.ToString(CultureInfo.InvariantCulture), ["branch"] = g.Branch,
            ["batch_row"] = g.BatchRow.ToString(CultureInfo.InvariantCulture), ["head"] = g.Head?.ToString(CultureInfo.InvariantCulture) ?? "mean",
            ["pool"] = g.Pool.ToString(CultureInfo.InvariantCulture),
        };
        var fixedTensors = new List<KeyValuePair<string, Tensor>>
        {
            new("query_positions", TorchSharp.torch.tensor(g.QueryPositions)),
            new("key_positions", TorchSharp.torch.tensor(g.KeyPositions)),
        };
        _stream = new SafeTensorsStream(Path, fixedTensors, "map", dtype, g.Rows, g.Columns, metadata);
        foreach (var (_, t) in fixedTensors) t.Dispose();
    }

    public void Append(Tensor rows) => _stream!.Append(rows);

    public void End() => _stream!.Complete();

    public void Dispose() => _stream?.Dispose();
}
