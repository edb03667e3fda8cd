using System.Buffers;
using System.Text;

namespace VDiTLens.Text;

/// <summary>
/// How a token is shown: SentencePiece's "▁" as a space, bytes as UTF-8 text where they form whole characters and
/// as <c>&lt;0xHH&gt;</c> (SentencePiece's byte-piece notation) where a character is split across tokens, padding
/// positions as <see cref="Padding"/>.
/// </summary>
public static class TokenText
{
    /// <summary>What a padding position (attention mask 0) shows.</summary>
    public const string Padding = "[pad]";

    /// <summary>SentencePiece's whitespace marker.</summary>
    public const char SentencePieceSpace = '\u2581';

    /// <summary>The text of a SentencePiece piece: "▁" becomes a space.</summary>
    public static string FromPiece(string piece) => piece.Replace(SentencePieceSpace, ' ');

    /// <summary>UTF-8 <paramref name="bytes"/> as text; bytes that do not complete a character become <c>&lt;0xHH&gt;</c>.</summary>
    public static string FromUtf8(ReadOnlySpan<byte> bytes)
    {
        var text = new StringBuilder(bytes.Length);
        while (bytes.Length > 0)
        {
            if (Rune.DecodeFromUtf8(bytes, out var rune, out int used) == OperationStatus.Done)
                text.Append(rune.ToString());
            else
                for (int i = 0; i < Math.Max(1, used); i++) text.Append($"<0x{bytes[i]:X2}>");
            bytes = bytes[Math.Max(1, used)..];
        }
        return text.ToString();
    }
}
