using System.Text;

namespace VDiTLens.Text;

/// <summary>
/// SentencePiece's unigram segmentation: the Viterbi path maximising the sum of piece scores over the normalised
/// text; a character no piece covers becomes an unknown node scored (lowest normal score − 10); consecutive
/// unknown pieces are merged into one (or, with byte fallback, spelled out as &lt;0xXX&gt; byte pieces).
/// </summary>
public sealed class UnigramModel
{
    // sentencepiece's kUnkPenalty.
    private const float UnknownPenalty = 10.0f;

    private readonly IReadOnlyList<SentencePiece> _pieces;
    private readonly Dictionary<string, int> _matchable = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _all = new(StringComparer.Ordinal);
    private readonly int _maxPieceChars;
    private readonly float _minScore = float.MaxValue;
    private readonly float _maxScore = float.MinValue;

    public int UnknownId { get; }
    public bool ByteFallback { get; }
    public int Count => _pieces.Count;

    public UnigramModel(IReadOnlyList<SentencePiece> pieces, int unknownId, bool byteFallback, string what)
    {
        _pieces = pieces;
        UnknownId = unknownId;
        ByteFallback = byteFallback;
        if (unknownId < 0 || unknownId >= pieces.Count)
            throw new VDiTLensException($"{what}: unk_id {unknownId} is outside the vocabulary of {pieces.Count} pieces");
        for (int id = 0; id < pieces.Count; id++)
        {
            var piece = pieces[id];
            _all.TryAdd(piece.Piece, id);
            if (piece.Type is PieceType.Normal or PieceType.UserDefined or PieceType.Unused)
            {
                if (!_matchable.TryAdd(piece.Piece, id))
                    throw new VDiTLensException($"{what}: piece '{piece.Piece}' occurs twice (ids {_matchable[piece.Piece]} and {id})");
                _maxPieceChars = Math.Max(_maxPieceChars, piece.Piece.Length);
            }
            if (piece.Type == PieceType.Normal)
            {
                _minScore = Math.Min(_minScore, piece.Score);
                _maxScore = Math.Max(_maxScore, piece.Score);
            }
        }
        if (_matchable.Count == 0) throw new VDiTLensException($"{what}: the vocabulary has no normal pieces");
    }

    public SentencePiece Piece(int id) => _pieces[id];

    public int? IdOf(string piece) => _all.TryGetValue(piece, out int id) ? id : null;

    /// <summary>Segments already-normalised text into (surface piece, id) pairs as SentencePieceProcessor.Encode does.</summary>
    public IReadOnlyList<(string Piece, int Id)> Segment(string normalized)
    {
        var path = BestPath(normalized);
        var result = new List<(string Piece, int Id)>(path.Count);
        bool previousUnknown = false;
        foreach (var (piece, id) in path)
        {
            bool unknown = id == UnknownId;
            if (unknown && ByteFallback)
            {
                foreach (byte b in Encoding.UTF8.GetBytes(piece))
                {
                    string bytePiece = $"<0x{b:X2}>";
                    result.Add((bytePiece, IdOf(bytePiece) ?? UnknownId));
                }
                previousUnknown = false;
                continue;
            }
            if (unknown && previousUnknown)
                result[^1] = (result[^1].Piece + piece, UnknownId);
            else
                result.Add((piece, id));
            previousUnknown = unknown;
        }
        return result;
    }

    private List<(string Piece, int Id)> BestPath(string text)
    {
        int n = text.Length;
        // Per end position (UTF-16 index): start of the best last piece, its id, and the best total score.
        var startsAt = new int[n + 1];
        var ids = new int[n + 1];
        var best = new float[n + 1];
        Array.Fill(startsAt, -1);
        startsAt[0] = 0;
        float unknownScore = _minScore - UnknownPenalty;

        for (int begin = 0; begin < n; begin = NextChar(text, begin))
        {
            if (startsAt[begin] < 0) continue;
            float scoreHere = best[begin];
            int firstCharEnd = NextChar(text, begin);
            bool hasSingleCharPiece = false;
            for (int end = firstCharEnd; end - begin <= _maxPieceChars; end = NextChar(text, end))
            {
                if (_matchable.TryGetValue(text.Substring(begin, end - begin), out int id))
                {
                    var piece = _pieces[id];
                    if (piece.Type != PieceType.Unused)
                    {
                        float score = piece.Type == PieceType.UserDefined
                            ? Encoding.UTF8.GetByteCount(piece.Piece) * _maxScore - 0.1f
                            : piece.Score;
                        float candidate = score + scoreHere;
                        if (startsAt[end] < 0 || candidate > best[end])
                        {
                            startsAt[end] = begin;
                            ids[end] = id;
                            best[end] = candidate;
                        }
                        if (end == firstCharEnd) hasSingleCharPiece = true;
                    }
                }
                if (end == n) break;
            }
            if (!hasSingleCharPiece)
            {
                float candidate = unknownScore + scoreHere;
                if (startsAt[firstCharEnd] < 0 || candidate > best[firstCharEnd])
                {
                    startsAt[firstCharEnd] = begin;
                    ids[firstCharEnd] = UnknownId;
                    best[firstCharEnd] = candidate;
                }
            }
        }

        var path = new List<(string, int)>();
        for (int end = n; end > 0; end = startsAt[end])
            path.Add((text.Substring(startsAt[end], end - startsAt[end]), ids[end]));
        path.Reverse();
        return path;
    }

    private static int NextChar(string text, int index) =>
        index + (char.IsHighSurrogate(text[index]) && index + 1 < text.Length && char.IsLowSurrogate(text[index + 1]) ? 2 : 1);
}
