using System.Text;

namespace VDiTLens.Text.Bpe;

/// <summary>
/// GPT-2's <c>bytes_to_unicode</c>: every byte 0–255 as a printable character (printable Latin-1 bytes map to
/// themselves, the others to U+0100 onwards), so byte-level BPE vocabularies hold only visible strings.
/// </summary>
public static class ByteLevelAlphabet
{
    private static readonly char[] ByteToChar = Build();
    private static readonly Dictionary<char, byte> CharToByte = Enumerable.Range(0, 256).ToDictionary(b => ByteToChar[b], b => (byte)b);

    private static char[] Build()
    {
        var map = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[b] = printable ? (char)b : (char)next++;
        }
        return map;
    }

    /// <summary>The character standing for byte <paramref name="b"/>.</summary>
    public static char Of(byte b) => ByteToChar[b];

    /// <summary>The UTF-8 bytes of <paramref name="text"/>, one alphabet character each.</summary>
    public static string Encode(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var chars = new char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) chars[i] = ByteToChar[bytes[i]];
        return new string(chars);
    }

    /// <summary>The bytes <paramref name="alphabet"/> stands for (the inverse of <see cref="Encode"/>); a character outside the alphabet is taken as its own UTF-8.</summary>
    public static byte[] Decode(string alphabet)
    {
        var bytes = new List<byte>(alphabet.Length);
        foreach (char c in alphabet)
            if (CharToByte.TryGetValue(c, out byte b)) bytes.Add(b);
            else bytes.AddRange(Encoding.UTF8.GetBytes(c.ToString()));
        return bytes.ToArray();
    }

    /// <summary>All 256 alphabet characters in byte order.</summary>
    public static IEnumerable<char> All => ByteToChar;
}
