using TorchSharp;
using static TorchSharp.torch;
using VDiTLens.Attention;

namespace VDiTLens.Interventions.Sparsity;

/// <summary>
/// Sliding Tile Attention's 3D window: the video grid is cut into tiles of <see cref="Tile"/> (frames, rows, cols)
/// tokens; a video query keeps the video keys whose tile lies in a window of <see cref="Window"/> tiles per axis
/// around its own tile. Per axis the window starts at clamp(t − ⌊w/2⌋, 0, max(0, n − w)) for query tile t of n
/// tiles, i.e. it is centred and shifted inward at the borders, as STA does. Text keys are always kept and text
/// queries keep every key. Calls without video on both sides are left dense.
/// </summary>
public sealed class SlidingTileSparsifier : Sparsifier
{
    public override string Name => "sliding_tile";
    public (int Frames, int Height, int Width) Tile { get; }
    public (int Frames, int Height, int Width) Window { get; }

    public SlidingTileSparsifier((int, int, int) tile, (int, int, int) window, IReadOnlyList<long>? keepSinks = null) : base(keepSinks)
    {
        if (tile.Item1 < 1 || tile.Item2 < 1 || tile.Item3 < 1) throw new VDiTLensException($"sliding_tile 'tile' sizes must be at least 1 (got {tile})");
        if (window.Item1 < 1 || window.Item2 < 1 || window.Item3 < 1) throw new VDiTLensException($"sliding_tile 'window' sizes must be at least 1 tile (got {window})");
        Tile = tile;
        Window = window;
    }

    public override KeepMask Begin(SparsityInputs inputs)
    {
        if (GridCoordinates.OfCall(inputs.Call, Name) is not var (queries, keys))
            return _ => torch.ones(1, dtype: ScalarType.Bool, device: inputs.Q.device);
        var device = inputs.Q.device;
        var g = queries.Grid;
        var axes = new[]
        {
            (queries.Frame, keys.Frame, Tile.Frames, Window.Frames, g.Frames),
            (queries.Y, keys.Y, Tile.Height, Window.Height, g.Height),
            (queries.X, keys.X, Tile.Width, Window.Width, g.Width),
        };
        var windows = axes.Select(a => Axis(a.Item1, a.Item2, a.Item3, a.Item4, a.Item5, device)).ToArray();
        var textQuery = torch.tensor(queries.Frame.Select(f => f < 0).ToArray(), device: device);
        var textKey = torch.tensor(keys.Frame.Select(f => f < 0).ToArray(), device: device);
        return block =>
        {
            var rows = block.Rows;
            var keep = textKey.unsqueeze(0).logical_or(textQuery.index_select(0, rows).unsqueeze(1));
            var inWindow = torch.ones(1, dtype: ScalarType.Bool, device: device);
            foreach (var (start, keyTile, width) in windows)
            {
                var s = start.index_select(0, rows).unsqueeze(1);
                inWindow = inWindow.logical_and((keyTile.unsqueeze(0) >= s).logical_and(keyTile.unsqueeze(0) < s + width));
            }
            return keep.logical_or(inWindow.logical_and(textKey.logical_not().unsqueeze(0))); // [rows, Lk]
        };
    }

    /// <summary>Window start per query and tile per key along one axis (text positions get tile −1, never in a window).</summary>
    private static (Tensor Start, Tensor KeyTile, long Width) Axis(long[] queryCoord, long[] keyCoord, int tile, int window, int size, Device device)
    {
        long tiles = (size + tile - 1) / tile;
        long maxStart = Math.Max(0, tiles - window);
        var start = queryCoord.Select(c => c < 0 ? 0 : Math.Clamp(c / tile - window / 2, 0, maxStart)).ToArray();
        var keyTile = keyCoord.Select(c => c < 0 ? -1 : c / tile).ToArray();
        return (torch.tensor(start, device: device), torch.tensor(keyTile, device: device), window);
    }
}
