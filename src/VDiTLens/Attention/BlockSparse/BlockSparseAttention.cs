using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Attention.BlockSparse;

/// <summary>
/// Block-sparse attention whose cost scales with the kept blocks: for each query tile of t queries, its kept key and
/// value blocks (b keys each) are gathered into a dense [m·b, D] tile and all query tiles run as one batched dense SDPA
/// call (q [B, H·nQt, t, D] over k, v [B, H·nQt, m·b, D]). Coarse query tiles (t a multiple of b) cut the gather by
/// t/b and give SDPA tiles long enough to run near the dense kernel's efficiency. Padding of ragged last key blocks and
/// unused slots of ragged rows are masked out; without either, SDPA runs unmasked (flash kernels on GPU). Query tiles
/// are processed in chunks so the gathered tiles stay under a memory budget. Equals dense attention with the expanded
/// block mask.
/// </summary>
public static class BlockSparseAttention
{
    /// <summary>Attention of q [B, H, Lq, D] over k, v [B, H, Lk, D] restricted to <paramref name="layout"/>; returns [B, H, Lq, D].</summary>
    public static Tensor Compute(Tensor q, Tensor k, Tensor v, BlockSparseLayout layout, double? scale = null, long memoryBudgetBytes = 4L << 30)
    {
        long batch = q.shape[0], heads = q.shape[1], lq = q.shape[2], lk = k.shape[2], d = q.shape[3], dv = v.shape[3];
        int t = layout.QueryBlockSize, b = layout.KeyBlockSize;
        if (layout.QueryLength != lq || layout.KeyLength != lk || layout.Indices.shape[0] != batch || layout.Indices.shape[1] != heads)
            throw new VDiTLensException($"block layout is for [{layout.Indices.shape[0]}, {layout.Indices.shape[1]}] × {layout.QueryLength} queries × {layout.KeyLength} keys; attention has [{batch}, {heads}] × {lq} × {lk}");
        double s = scale ?? AttentionKernels.DefaultScale(q);
        long nqt = layout.QueryBlocks, nkb = layout.KeyBlocks, m = layout.MaxKept;

        using var scope = torch.NewDisposeScope();
        var qt = Pad(q, nqt * t).view(batch, heads, nqt, t, d);
        var kb = Pad(k, nkb * b).view(batch * heads * nkb, b, d);
        var vb = Pad(v, nkb * b).view(batch * heads * nkb, b, dv);
        var indices = layout.Indices.to(q.device);
        var rowBase = (torch.arange(batch * heads, dtype: ScalarType.Int64, device: q.device) * nkb).view(batch, heads, 1, 1);
        var flat = indices + rowBase; // [B, H, nQt, m] indices into the flattened key blocks
        bool padded = nkb * b != lk;
        var slotValid = layout.Counts is null ? null : layout.SlotValid().to(q.device);

        long bytesPerQueryTile = batch * heads * m * b * (d + dv) * q.element_size() * 2; // gathered k, v and SDPA's copies
        long chunk = Math.Clamp(memoryBudgetBytes / Math.Max(1, bytesPerQueryTile), 1, nqt);
        Tensor? whole = null;
        var output = chunk < nqt ? torch.empty(new[] { batch, heads, nqt, t, dv }, dtype: q.dtype, device: q.device) : null;
        for (long start = 0; start < nqt; start += chunk)
        {
            using var chunkScope = torch.NewDisposeScope();
            long n = Math.Min(chunk, nqt - start);
            var idx = flat.narrow(2, start, n).contiguous().view(-1);
            var keys = kb.index_select(0, idx).view(batch, heads * n, m * b, d);
            var values = vb.index_select(0, idx).view(batch, heads * n, m * b, dv);
            var queries = qt.narrow(2, start, n).reshape(batch, heads * n, t, d);
            Tensor? mask = null;
            if (padded || slotValid is not null)
            {
                // key position of every gathered slot: block·b + offset < Lk, and the slot in use
                var positions = indices.narrow(2, start, n).unsqueeze(-1) * b + torch.arange(b, device: q.device).view(1, 1, 1, 1, b);
                var valid = positions < lk;
                if (slotValid is not null) valid = valid.logical_and(slotValid.narrow(2, start, n).unsqueeze(-1));
                mask = valid.reshape(batch, heads * n, 1, m * b);
            }
            var result = AttentionKernels.Sdpa(queries, keys, values, s, mask);
            if (output is null) whole = result.MoveToOuterDisposeScope();
            else output.narrow(2, start, n).copy_(result.reshape(batch, heads, n, t, dv));
        }
        var tiles = output ?? whole!;
        var all = tiles.reshape(batch, heads, nqt * t, dv);
        return (nqt * t == lq ? all : all.narrow(2, 0, lq).contiguous()).MoveToOuterDisposeScope();
    }

    private static Tensor Pad(Tensor x, long length) =>
        x.shape[2] == length ? x.contiguous() : nn.functional.pad(x, new long[] { 0, 0, 0, length - x.shape[2] });
}
