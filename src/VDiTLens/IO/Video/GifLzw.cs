namespace VDiTLens.IO.Video;

/// <summary>
/// GIF's variable-width LZW for 8-bit indices: codes start at 9 bits and grow to 12; a clear code resets the table
/// when it fills. Bits are packed least-significant first.
/// </summary>
internal static class GifLzw
{
    private const int ClearCode = 256;
    private const int EndCode = 257;
    private const int MaxCodes = 4096;

    public static byte[] Encode(byte[] indices)
    {
        var output = new BitWriter();
        var table = new Dictionary<int, int>();
        int codeSize = 9, next = EndCode + 1;
        output.Write(ClearCode, codeSize);
        if (indices.Length == 0)
        {
            output.Write(EndCode, codeSize);
            return output.ToArray();
        }

        int prefix = indices[0];
        for (int i = 1; i < indices.Length; i++)
        {
            int key = (prefix << 8) | indices[i];
            if (table.TryGetValue(key, out int code))
            {
                prefix = code;
                continue;
            }
            output.Write(prefix, codeSize);
            // The decoder adds its entry one code later, so the width grows after the code that follows a full width.
            if (next >= (1 << codeSize) && codeSize < 12) codeSize++;
            if (next < MaxCodes)
            {
                table[key] = next++;
            }
            else
            {
                output.Write(ClearCode, codeSize);
                table.Clear();
                next = EndCode + 1;
                codeSize = 9;
            }
            prefix = indices[i];
        }
        output.Write(prefix, codeSize);
        if (next >= (1 << codeSize) && codeSize < 12) codeSize++;
        output.Write(EndCode, codeSize);
        return output.ToArray();
    }

    private sealed class BitWriter
    {
        private readonly List<byte> _bytes = new();
        private int _buffer, _bits;

        public void Write(int code, int width)
        {
            _buffer |= code << _bits;
            _bits += width;
            while (_bits >= 8)
            {
                _bytes.Add((byte)(_buffer & 0xFF));
                _buffer >>= 8;
                _bits -= 8;
            }
        }

        public byte[] ToArray()
        {
            if (_bits > 0) _bytes.Add((byte)(_buffer & 0xFF));
            _buffer = _bits = 0;
            return _bytes.ToArray();
        }
    }
}
