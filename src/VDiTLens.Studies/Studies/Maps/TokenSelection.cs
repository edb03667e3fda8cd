using System.Globalization;
using VDiTLens.Attention;

namespace VDiTLens.Studies.Maps;

/// <summary>
/// Which token positions of a sequence a map shows, in order: all of them, the video tokens, the text tokens, one
/// latent frame, a region (frames × rows × columns of the patch grid, inclusive ranges), an explicit list, or every
/// n-th position. Text form: <c>all</c>, <c>video</c>, <c>text</c>, <c>frame:F</c>, <c>region:F0..F1:Y0..Y1:X0..X1</c>,
/// <c>tokens:i,j,k</c>, <c>stride:N</c>.
/// </summary>
public sealed record TokenSelection(string Kind, IReadOnlyList<long> Values)
{
    public static TokenSelection All { get; } = new("all", Array.Empty<long>());
    public static TokenSelection Video { get; } = new("video", Array.Empty<long>());

    public override string ToString() => Kind switch
    {
        "frame" or "stride" => $"{Kind}:{Values[0]}",
        "tokens" => $"tokens:{string.Join(',', Values)}",
        "region" => $"region:{Values[0]}..{Values[1]}:{Values[2]}..{Values[3]}:{Values[4]}..{Values[5]}",
        _ => Kind,
    };

    public static TokenSelection Parse(string text)
    {
        string s = text.Trim();
        int colon = s.IndexOf(':');
        string kind = colon < 0 ? s : s[..colon], rest = colon < 0 ? "" : s[(colon + 1)..];
        long Number(string v) => long.TryParse(v.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out long n) && n >= 0 ? n
            : throw new VDiTLensException($"token selection '{text}': '{v}' is not a non-negative integer");
        (long, long) Range(string v)
        {
            int dots = v.IndexOf("..", StringComparison.Ordinal);
            var r = dots < 0 ? (Number(v), Number(v)) : (Number(v[..dots]), Number(v[(dots + 2)..]));
            return r.Item1 <= r.Item2 ? r : throw new VDiTLensException($"token selection '{text}': range '{v}' is empty");
        }
        return kind switch
        {
            "all" or "video" or "text" when rest.Length == 0 => new TokenSelection(kind, Array.Empty<long>()),
            "frame" => new TokenSelection(kind, new[] { Number(rest) }),
            "stride" => Number(rest) >= 1 ? new TokenSelection(kind, new[] { Number(rest) }) : throw new VDiTLensException($"token selection '{text}': the stride must be ≥ 1"),
            "tokens" => new TokenSelection(kind, rest.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(Number).ToArray() is { Length: > 0 } list
                ? list : throw new VDiTLensException($"token selection '{text}': no token listed")),
            "region" => rest.Split(':') is { Length: 3 } parts
                ? new TokenSelection(kind, parts.Select(Range).SelectMany(r => new[] { r.Item1, r.Item2 }).ToArray())
                : throw new VDiTLensException($"token selection '{text}': a region is region:F0..F1:Y0..Y1:X0..X1"),
            _ => throw new VDiTLensException($"token selection '{text}': use all, video, text, frame:F, region:F0..F1:Y0..Y1:X0..X1, tokens:i,j or stride:N"),
        };
    }

    /// <summary>The selected positions of a sequence with this layout, ascending for every kind but an explicit list.</summary>
    public long[] Resolve(TokenLayout layout, string what)
    {
        long length = layout.Length;
        VideoGrid Grid() => layout.Grid ?? throw new VDiTLensException($"{what} selection {this}: the sequence has no video grid");
        long VideoStart() => layout.VideoSegment!.Start;
        long[] Range(long start, long count) => Enumerable.Range(0, (int)count).Select(i => start + i).ToArray();
        long[] positions;
        switch (Kind)
        {
            case "all": positions = Range(0, length); break;
            case "video": { var g = Grid(); positions = Range(VideoStart(), g.Count); break; }
            case "text":
                positions = layout.Segments.Where(s => s.Kind == TokenKind.Text).SelectMany(s => Range(s.Start, s.Length)).ToArray();
                break;
            case "frame":
            {
                var g = Grid();
                if (Values[0] >= g.Frames) throw new VDiTLensException($"{what} selection {this}: the grid has {g.Frames} frames (0..{g.Frames - 1})");
                long hw = (long)g.Height * g.Width;
                positions = Range(VideoStart() + Values[0] * hw, hw);
                break;
            }
            case "region":
            {
                var g = Grid();
                if (Values[1] >= g.Frames || Values[3] >= g.Height || Values[5] >= g.Width)
                    throw new VDiTLensException($"{what} selection {this}: outside the {g} grid (frames × rows × columns)");
                var list = new List<long>();
                for (long f = Values[0]; f <= Values[1]; f++)
                    for (long y = Values[2]; y <= Values[3]; y++)
                        for (long x = Values[4]; x <= Values[5]; x++)
                            list.Add(VideoStart() + (f * g.Height + y) * g.Width + x);
                positions = list.ToArray();
                break;
            }
            case "tokens": positions = Values.ToArray(); break;
            case "stride": positions = Enumerable.Range(0, (int)((length + Values[0] - 1) / Values[0])).Select(i => i * Values[0]).ToArray(); break;
            default: throw new VDiTLensException($"unknown token selection kind '{Kind}'");
        }
        if (positions.Length == 0) throw new VDiTLensException($"{what} selection {this} selects no token");
        if (positions.FirstOrDefault(p => p < 0 || p >= length, -1) is var bad and >= 0)
            throw new VDiTLensException($"{what} selection {this}: position {bad} is outside the sequence of {length} tokens");
        return positions;
    }
}
