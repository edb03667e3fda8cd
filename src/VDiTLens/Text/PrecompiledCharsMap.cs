using System.Buffers.Binary;

namespace VDiTLens.Text;

/// <summary>
/// SentencePiece's precompiled normalisation rules (e.g. nmt_nfkc): a darts-clone double-array trie over UTF-8
/// byte sequences whose values are offsets of NUL-terminated replacements in a string blob. Blob layout:
/// uint32 trie size in bytes, the trie units, then the replacement strings.
/// </summary>
public sealed class PrecompiledCharsMap
{
    // sentencepiece keeps at most this many prefix matches per position before picking the longest.
    private const int MaxTrieResults = 32;
    private readonly uint[] _units;
    private readonly byte[] _replacements;

    public PrecompiledCharsMap(byte[] blob, string what)
    {
        if (blob.Length < 4) throw new VDiTLensException($"{what}: precompiled_charsmap is too short ({blob.Length} bytes)");
        uint trieBytes = BinaryPrimitives.ReadUInt32LittleEndian(blob);
        if (trieBytes > blob.Length - 4 || trieBytes % 4 != 0)
            throw new VDiTLensException($"{what}: precompiled_charsmap is damaged (trie size {trieBytes} of {blob.Length} bytes)");
        _units = new uint[trieBytes / 4];
        for (int i = 0; i < _units.Length; i++)
            _units[i] = BinaryPrimitives.ReadUInt32LittleEndian(blob.AsSpan(4 + 4 * i));
        _replacements = blob.AsSpan(4 + (int)trieBytes).ToArray();
    }

    /// <summary>
    /// The longest rule matching a prefix of <paramref name="input"/>: (bytes consumed, replacement), or
    /// (0, empty) when no rule applies.
    /// </summary>
    public (int Length, ReadOnlyMemory<byte> Replacement) LongestMatch(ReadOnlySpan<byte> input)
    {
        int longestLength = 0, longestValue = 0, results = 0;
        if (_units.Length == 0) return (0, ReadOnlyMemory<byte>.Empty);
        uint nodePos = 0;
        uint unit = _units[0];
        nodePos ^= Offset(unit);
        for (int i = 0; i < input.Length; i++)
        {
            byte b = input[i];
            nodePos ^= b;
            if (nodePos >= _units.Length) break;
            unit = _units[nodePos];
            if (Label(unit) != b) break;
            nodePos ^= Offset(unit);
            if (HasLeaf(unit))
            {
                if (nodePos >= _units.Length) break;
                if (results < MaxTrieResults && (longestLength == 0 || i + 1 > longestLength))
                {
                    longestLength = i + 1;
                    longestValue = (int)Value(_units[nodePos]);
                }
                results++;
            }
        }
        if (longestLength == 0) return (0, ReadOnlyMemory<byte>.Empty);
        int end = Array.IndexOf(_replacements, (byte)0, longestValue);
        if (end < 0) end = _replacements.Length;
        return (longestLength, _replacements.AsMemory(longestValue, end - longestValue));
    }

    private static bool HasLeaf(uint unit) => ((unit >> 8) & 1) == 1;
    private static uint Value(uint unit) => unit & ((1u << 31) - 1);
    private static uint Label(uint unit) => unit & ((1u << 31) | 0xFF);
    private static uint Offset(uint unit) => (unit >> 10) << (int)((unit & (1u << 9)) >> 6);
}
