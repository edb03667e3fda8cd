using TorchSharp;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Probes;

/// <summary>
/// Assigns each token of a layout to a group (a frame, a (frame, tile) cell, a modality) or to none (-1),
/// which is how maps are pooled the same way on every model.
/// </summary>
public abstract class TokenGrouping
{
    public abstract string Name { get; }

    /// <summary>Group index per position (-1 = not pooled), and the number of groups; null when the layout has nothing to group.</summary>
    public abstract (long[] Groups, int Count)? Assign(TokenLayout layout);

    /// <summary>One-hot matrix [length, groups] in the given dtype/device, for pooling by matrix product.</summary>
    public static Tensor OneHot(long[] groups, int count, ScalarType dtype, Device device)
    {
        var m = torch.zeros(groups.Length, count, dtype: dtype);
        var rows = new List<long>();
        var cols = new List<long>();
        for (long i = 0; i < groups.Length; i++)
            if (groups[i] >= 0)
            {
                rows.Add(i);
                cols.Add(groups[i]);
            }
        if (rows.Count > 0)
            m.index_put_(torch.ones(rows.Count, dtype: dtype), torch.tensor(rows.ToArray()), torch.tensor(cols.ToArray()));
        return m.to(device);
    }
}

/// <summary>Video tokens grouped by frame.</summary>
public sealed class FrameGrouping : TokenGrouping
{
    public override string Name => "frame";

    public override (long[] Groups, int Count)? Assign(TokenLayout layout)
    {
        var video = layout.VideoSegment;
        if (video?.Grid is not { } g) return null;
        var groups = Enumerable.Repeat(-1L, (int)layout.Length).ToArray();
        long hw = (long)g.Height * g.Width;
        for (long i = 0; i < video.Length; i++) groups[video.Start + i] = i / hw;
        return (groups, g.Frames);
    }
}

/// <summary>Video tokens grouped by (frame, spatial tile of tile×tile patches); group = frame·tiles + row·cols + col.</summary>
public sealed class TileGrouping(int tileSize) : TokenGrouping
{
    public int TileSize { get; } = tileSize > 0 ? tileSize : throw new VDiTLensException($"tile size must be positive (got {tileSize})");
    public override string Name => $"tile{TileSize}";

    public (int Rows, int Cols) Tiles(VideoGrid g) => ((g.Height + TileSize - 1) / TileSize, (g.Width + TileSize - 1) / TileSize);

    public override (long[] Groups, int Count)? Assign(TokenLayout layout)
    {
        var video = layout.VideoSegment;
        if (video?.Grid is not { } g) return null;
        var (rows, cols) = Tiles(g);
        var groups = Enumerable.Repeat(-1L, (int)layout.Length).ToArray();
        long hw = (long)g.Height * g.Width;
        for (long i = 0; i < video.Length; i++)
        {
            long f = i / hw, y = i % hw / g.Width, x = i % g.Width;
            groups[video.Start + i] = f * rows * cols + y / TileSize * cols + x / TileSize;
        }
        return (groups, g.Frames * rows * cols);
    }
}

/// <summary>Tokens grouped by modality: 0 = text, 1 = video.</summary>
public sealed class ModalityGrouping : TokenGrouping
{
    public override string Name => "modality";

    public override (long[] Groups, int Count)? Assign(TokenLayout layout)
    {
        var groups = Enumerable.Repeat(-1L, (int)layout.Length).ToArray();
        foreach (var s in layout.Segments)
            for (long i = s.Start; i < s.End; i++) groups[i] = s.Kind == TokenKind.Text ? 0 : 1;
        return (groups, 2);
    }
}
