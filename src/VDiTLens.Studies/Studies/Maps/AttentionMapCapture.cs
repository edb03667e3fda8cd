using TorchSharp;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Maps;

/// <summary>
/// Reads the one attention call a <see cref="MapOptions"/> names (site, step, branch) and streams its map to sinks:
/// for blocks of the selected queries, softmax rows against every key (so each row is the call's exact probability
/// row), then the selected key columns, the chosen head or the mean over heads, and the pooling. One block of rows
/// is in memory at a time, never the N×N map. Masks are applied as the kernel applies them.
/// </summary>
public sealed class AttentionMapCapture(MapOptions options, params IMapSink[] sinks) : IAttentionProbe
{
    public MapOptions Options { get; } = options;
    /// <summary>The captured map's geometry, once its call has been seen.</summary>
    public MapGeometry? Geometry { get; private set; }

    public bool Accepts(AttentionCall call) =>
        Geometry is null && call.Site.Name == Options.Site && call.State.Step == Options.Step
        && (call.State.Branch == Options.Branch || call.State.Branch == "cfg" && call.State.Batch is { } b && b.RowsOf(Options.Branch).Length > 0);

    public void Observe(AttentionCall call, Tensor q, Tensor k, Tensor v, Tensor output)
    {
        using var scope = torch.NewDisposeScope();
        long row = BatchRow(call, q.shape[0]);
        long heads = q.shape[1];
        if (Options.Head is { } head && head >= heads)
            throw new VDiTLensException($"map head {head}: site {call.Site.Name} has {heads} heads (0..{heads - 1})");
        var queries = Options.Queries.Resolve(call.QueryLayout, "query");
        var keys = Options.Keys.Resolve(call.KeyLayout, "key");
        var geometry = new MapGeometry(call.Site.Name, call.State.Step, Options.Branch, Options.BatchRow, Options.Head, Options.Pool,
            queries, keys, call.QueryLayout, call.KeyLayout);
        Geometry = geometry;
        foreach (var s in sinks) s.Begin(geometry);

        var dtype = q.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        var qRow = q[row];                                  // [H, Lq, D]
        var kRow = k[row].to(dtype);                        // [H, Lk, D]
        var mask = call.Mask is { } m ? MaskRow(m, row) : null; // [H or 1, Lq or 1, Lk]
        if (Options.Head is { } h)
        {
            qRow = qRow.narrow(0, h, 1);
            kRow = kRow.narrow(0, h, 1);
            if (mask is not null && mask.shape[0] > 1) mask = mask.narrow(0, h, 1);
        }
        var kT = kRow.transpose(-2, -1);
        long lk = k.shape[2], used = qRow.shape[0];
        bool allKeys = keys.Length == lk && keys.Select((p, i) => p == i).All(x => x);
        var keyIndex = allKeys ? null : torch.tensor(keys, device: q.device);
        long bytesPerRow = used * lk * (dtype == ScalarType.Float64 ? 8 : 4) * 3;
        long pool = Options.Pool;
        long rowsPerBlock = Math.Max(pool, Math.Max(1, Options.MemoryBudgetBytes / bytesPerRow) / pool * pool);
        for (long start = 0; start < queries.Length; start += rowsPerBlock)
        {
            using var block = torch.NewDisposeScope();
            long count = Math.Min(rowsPerBlock, queries.Length - start);
            var index = torch.tensor(queries.AsSpan((int)start, (int)count).ToArray(), device: q.device);
            var logits = torch.matmul(qRow.index_select(1, index).to(dtype), kT) * call.Scale; // [h, r, Lk]
            if (mask is not null)
            {
                var mb = mask.shape[1] > 1 ? mask.index_select(1, index) : mask;
                logits = mb.dtype == ScalarType.Bool ? logits.masked_fill(mb.logical_not(), double.NegativeInfinity) : logits + mb.to(dtype);
            }
            var p = logits.softmax(-1).nan_to_num(0.0);    // a fully masked row is all zeros
            var rows = Options.Head is null ? p.mean(new long[] { 0 }) : p[0];
            if (keyIndex is not null) rows = rows.index_select(1, keyIndex);
            if (pool > 1) rows = MapPooling.Pool(rows, pool);
            var cpu = rows.cpu();
            foreach (var s in sinks) s.Append(cpu);
        }
        foreach (var s in sinks) s.End();
    }

    private long BatchRow(AttentionCall call, long batch)
    {
        long row = Options.BatchRow;
        if (call.State.Branch == "cfg")
        {
            var rows = call.State.Batch!.RowsOf(Options.Branch);
            if (row >= rows.Length) throw new VDiTLensException($"map batch row {row}: the {Options.Branch} branch has {rows.Length} rows");
            row = rows[row];
        }
        return row < batch ? row : throw new VDiTLensException($"map batch row {row}: the call at {call.Site.Name} has a batch of {batch}");
    }

    /// <summary>The mask of one batch row, as [H or 1, Lq or 1, Lk].</summary>
    private static Tensor MaskRow(Tensor mask, long row) => mask.dim() switch
    {
        4 => mask[mask.shape[0] > 1 ? row : 0],
        3 => mask[mask.shape[0] > 1 ? row : 0].unsqueeze(0),
        2 => mask.unsqueeze(0),
        _ => throw new VDiTLensException($"attention mask of {mask.dim()} dimensions is not supported by the map capture"),
    };
}
