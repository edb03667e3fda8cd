using VDiTLens.Attention;

namespace VDiTLens.Reports.Explorer;

/// <summary>
/// Where the keys of one captured site lie in its key sequence: the video keys (<see cref="Grid"/>, from
/// <see cref="VideoKeyStart"/>; none in cross-attention, where <see cref="Grid"/> is the queries' grid) and, in joint
/// and cross-attention, the text keys (<see cref="TextKeys"/> from <see cref="TextKeyStart"/>; 0 in self-attention),
/// which are image tokens at a cross-attention site of stream <c>image</c> (<see cref="ImageKeys"/>);
/// <see cref="Queries"/> are the captured query positions in the site's query sequence; <see cref="HeadRows"/> says
/// whether its rows are kept per head.
/// </summary>
public sealed record ExplorerSite(string Name, AttentionKind Kind, VideoGrid Grid, long VideoKeyStart, long TextKeyStart, long TextKeys,
    IReadOnlyList<long> Queries, bool HeadRows, bool VideoKeys = true, bool ImageKeys = false);
