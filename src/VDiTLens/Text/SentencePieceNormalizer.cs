using System.Text;

namespace VDiTLens.Text;

/// <summary>
/// SentencePiece's Normalizer::Normalize: character rules from the precompiled charsmap (longest match, else one
/// UTF-8 character copied), leading/trailing/repeated whitespace removed, a dummy "▁" prefix added and spaces
/// escaped as "▁" — each as the NormalizerSpec says.
/// </summary>
public sealed class SentencePieceNormalizer
{
    public const string SpaceSymbol = "\u2581";
    private static readonly byte[] SpaceSymbolBytes = Encoding.UTF8.GetBytes(SpaceSymbol);
    private static readonly byte[] ReplacementCharacter = { 0xEF, 0xBF, 0xBD };
    private static readonly byte[] Space = { (byte)' ' };

    private readonly PrecompiledCharsMap? _charsMap;

    public NormalizerSpec Spec { get; }
    public bool TreatWhitespaceAsSuffix { get; }

    public SentencePieceNormalizer(NormalizerSpec spec, bool treatWhitespaceAsSuffix, string what)
    {
        Spec = spec;
        TreatWhitespaceAsSuffix = treatWhitespaceAsSuffix;
        if (spec.PrecompiledCharsmap is { Length: > 0 } blob) _charsMap = new PrecompiledCharsMap(blob, what);
    }

    public string Normalize(string text)
    {
        ReadOnlySpan<byte> input = Encoding.UTF8.GetBytes(text);
        var output = new List<byte>(input.Length * 2);
        if (input.IsEmpty) return "";

        if (Spec.RemoveExtraWhitespaces)
        {
            while (!input.IsEmpty)
            {
                var (piece, consumed) = NormalizePrefix(input);
                if (!piece.Span.SequenceEqual(Space)) break;
                input = input[consumed..];
            }
        }
        if (input.IsEmpty) return "";

        if (!TreatWhitespaceAsSuffix && Spec.AddDummyPrefix) AppendSpace(output);
        bool previousIsSpace = Spec.RemoveExtraWhitespaces;
        while (!input.IsEmpty)
        {
            var (normalized, consumed) = NormalizePrefix(input);
            var piece = normalized.Span;
            if (previousIsSpace)
                while (!piece.IsEmpty && piece[0] == (byte)' ') piece = piece[1..];
            if (!piece.IsEmpty)
            {
                foreach (byte b in piece)
                {
                    if (Spec.EscapeWhitespaces && b == (byte)' ') output.AddRange(SpaceSymbolBytes);
                    else output.Add(b);
                }
                previousIsSpace = piece[^1] == (byte)' ';
            }
            input = input[consumed..];
            if (!Spec.RemoveExtraWhitespaces) previousIsSpace = false;
        }

        if (Spec.RemoveExtraWhitespaces)
        {
            var space = Spec.EscapeWhitespaces ? SpaceSymbolBytes : Space;
            while (EndsWith(output, space)) output.RemoveRange(output.Count - space.Length, space.Length);
        }
        if (TreatWhitespaceAsSuffix && Spec.AddDummyPrefix) AppendSpace(output);
        return Encoding.UTF8.GetString(output.ToArray());
    }

    private void AppendSpace(List<byte> output) => output.AddRange(Spec.EscapeWhitespaces ? SpaceSymbolBytes : Space);

    private (ReadOnlyMemory<byte> Normalized, int Consumed) NormalizePrefix(ReadOnlySpan<byte> input)
    {
        if (_charsMap is not null)
        {
            var (length, replacement) = _charsMap.LongestMatch(input);
            if (length > 0) return (replacement, length);
        }
        int charLength = Utf8CharLength(input);
        if (charLength == 0) return (ReplacementCharacter, 1);
        return (input[..charLength].ToArray(), charLength);
    }

    /// <summary>Length of the valid UTF-8 character at the start of <paramref name="input"/>, or 0 if malformed.</summary>
    private static int Utf8CharLength(ReadOnlySpan<byte> input)
    {
        var status = System.Text.Rune.DecodeFromUtf8(input, out _, out int consumed);
        return status == System.Buffers.OperationStatus.Done ? consumed : 0;
    }

    private static bool EndsWith(List<byte> output, byte[] suffix)
    {
        if (output.Count < suffix.Length) return false;
        for (int i = 0; i < suffix.Length; i++)
            if (output[output.Count - suffix.Length + i] != suffix[i]) return false;
        return true;
    }
}
