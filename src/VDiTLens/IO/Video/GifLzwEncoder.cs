namespace VDiTLens.IO.Video;

/// <summary>
/// The variable-width LZW of GIF (codes 9–12 bits, LSB first, clear code when the 4096-entry table is full),
/// written as 8-bit-literal image data.
/// </summary>
public static class GifLzwEncoder
{
    public const int LiteralWidth = 8;
    private const int MaxCode = (1 << 12) - 1;

    /// <summary>The LZW code stream for <paramref name="indices"/> (not yet split into 255-byte sub-blocks).</summary>
    public static byte[] Encode(ReadOnlySpan<byte> indices)
    {
        const int clear = 1 << LiteralWidth, end = clear + 1;
        var output = new List<byte>(indices.Length);
        int bitBuffer = 0, bitCount = 0, width = LiteralWidth + 1, next = end, overflow = clear << 1;
        var table = new Dictionary<int, int>();

        void Write(int code)
        {
            bitBuffer |= code << bitCount;
            bitCount += width;
            while (bitCount >= 8)
            {
                output.Add((byte)bitBuffer);
                bitBuffer >>= 8;
                bitCount -= 8;
            }
        }

        // Advances to the next code; false when the table is full and was just reset with a clear code.
        bool IncrementNext()
        {
            next++;
            if (next == overflow)
            {
                width++;
                overflow <<= 1;
            }
            if (next != MaxCode) return true;
            Write(clear);
            width = LiteralWidth + 1;
            next = end;
            overflow = clear << 1;
            table.Clear();
            return false;
        }

        Write(clear);
        if (indices.Length > 0)
        {
            int code = indices[0];
            for (int i = 1; i < indices.Length; i++)
            {
                int literal = indices[i];
                int key = (code << 8) | literal;
                if (table.TryGetValue(key, out int found))
                {
                    code = found;
                    continue;
                }
                Write(code);
                code = literal;
                if (IncrementNext()) table[key] = next;
            }
            Write(code);
            IncrementNext();
        }
        Write(end);
        if (bitCount > 0) output.Add((byte)bitBuffer);
        return output.ToArray();
    }
}
