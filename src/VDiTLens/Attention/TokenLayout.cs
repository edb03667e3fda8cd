using static TorchSharp.torch;

namespace VDiTLens.Attention;

public enum TokenKind { Video, Text }

/// <summary>A video's token grid in patches: frames × height × width, tokens ordered (f, h, w).</summary>
public sealed record VideoGrid(int Frames, int Height, int Width)
{
    public long Count => (long)Frames * Height * Width;
    public override string ToString() => $"{Frames}×{Height}×{Width}";
}

/// <summary>A contiguous run of tokens of one kind in a sequence.</summary>
public sealed record TokenSegment(TokenKind Kind, long Start, long Length, VideoGrid? Grid = null)
{
    public long End => Start + Length;
}

/// <summary>
/// Which positions of a query or key sequence are video (with their grid) and which are text, and which
/// keys are real (not padding). Probes pool by frame, tile or modality from this, the same on every model.
/// </summary>
public sealed record TokenLayout(IReadOnlyList<TokenSegment> Segments)
{
    /// <summary>Optional bool [batch, length]: true where a token is real, false for padding.</summary>
    public Tensor? Valid { get; init; }

    public long Length => Segments.Count == 0 ? 0 : Segments.Max(s => s.End);

    public TokenSegment? VideoSegment => Segments.FirstOrDefault(s => s.Kind == TokenKind.Video);
    public VideoGrid? Grid => VideoSegment?.Grid;

    public static TokenLayout Video(VideoGrid grid) => new(new[] { new TokenSegment(TokenKind.Video, 0, grid.Count, grid) });

    public static TokenLayout Text(long length, Tensor? valid = null) =>
        new(new[] { new TokenSegment(TokenKind.Text, 0, length) }) { Valid = valid };

    /// <summary>Segments laid end to end in the given order (e.g. [text, video] or [video, text]).</summary>
    public static TokenLayout Concat(Tensor? valid, params TokenLayout[] parts)
    {
        var segments = new List<TokenSegment>();
        long offset = 0;
        foreach (var part in parts)
        {
            foreach (var s in part.Segments) segments.Add(s with { Start = s.Start + offset });
            offset += part.Length;
        }
        return new TokenLayout(segments) { Valid = valid };
    }

    /// <summary>Describes a position: "text[5]" or "video(f=2, y=3, x=7)".</summary>
    public string Describe(long position)
    {
        foreach (var s in Segments)
        {
            if (position < s.Start || position >= s.End) continue;
            long i = position - s.Start;
            if (s.Kind == TokenKind.Text || s.Grid is null) return $"text[{i}]";
            long hw = (long)s.Grid.Height * s.Grid.Width;
            return $"video(f={i / hw}, y={i % hw / s.Grid.Width}, x={i % s.Grid.Width})";
        }
        return $"token[{position}]";
    }
}
