using System.Buffers;
using System.Text;

namespace VDiTLens.IO;

/// <summary>
/// Strict UTF-8 checking for JSON read from files. System.Text.Json accepts invalid UTF-8 inside strings and
/// only fails later, with an InvalidOperationException, when a name or value is turned into a string.
/// </summary>
internal static class Utf8Text
{
    /// <summary>The offset of the first byte that is not part of a valid UTF-8 sequence, or -1.</summary>
    public static int FirstInvalidByte(ReadOnlySpan<byte> bytes)
    {
        int offset = 0;
        while (offset < bytes.Length)
        {
            if (Rune.DecodeFromUtf8(bytes[offset..], out _, out int consumed) != OperationStatus.Done)
                return offset;
            offset += consumed;
        }
        return -1;
    }
}
