using System.Buffers.Binary;
using System.Text;

namespace VDiTLens.IO.Fuzzing;

/// <summary>
/// Byte- and token-level damage to a safetensors file. Mutations that edit the header text re-write the length
/// field to match, so the damage reaches the JSON and layout checks instead of stopping at the length check.
/// </summary>
internal static class SafeTensorsMutations
{
    public delegate byte[] Mutation(Random random, byte[] file);

    public static readonly (string Name, Mutation Apply)[] All =
    {
        ("flip-bit", FlipBit),
        ("header-byte", OverwriteHeaderByte),
        ("data-byte", OverwriteDataByte),
        ("truncate", Truncate),
        ("extend", Extend),
        ("header-length", SetHeaderLength),
        ("number", EditNumber),
        ("dtype", SwapDType),
        ("header-delete", DeleteHeaderBytes),
        ("header-copy", CopyHeaderSlice),
        ("non-utf8", InsertNonUtf8),
        ("data-shift", ShiftData),
    };

    private static readonly string[] DTypes =
    {
        "F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL",
        "F8_E4M3", "F8_E5M2", "U16", "U32", "U64", "C64", "", "f32", "F32 ", "F\\u0033\\u0032",
    };

    private static readonly string[] Numbers =
    {
        "-1", "0", "1", "2", "7", "8", "-0", "00", "1.5", "1e3", "1e400", "-9223372036854775808",
        "9223372036854775807", "9223372036854775808", "18446744073709551615", "18446744073709551616",
        "4294967296", "2147483648", "4611686018427387904", "1000000000000", "true", "null", "\"3\"", "[]",
    };

    private static readonly byte[] Structural = "{}[],:\"\\0123456789-e. tfn"u8.ToArray();

    // ---- layout helpers ------------------------------------------------------------------------------

    /// <summary>Where the header text ends, clamped to the file, whatever the length field says.</summary>
    private static int HeaderEnd(byte[] file)
    {
        if (file.Length < 8) return file.Length;
        ulong length = BinaryPrimitives.ReadUInt64LittleEndian(file);
        return (int)Math.Min(length, (ulong)(file.Length - 8)) + 8;
    }

    /// <summary>Replaces the header text with <paramref name="header"/> and writes its length.</summary>
    private static byte[] WithHeader(byte[] file, ReadOnlySpan<byte> header)
    {
        int end = HeaderEnd(file);
        var data = file.AsSpan(end);
        var result = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(result, (ulong)header.Length);
        header.CopyTo(result.AsSpan(8));
        data.CopyTo(result.AsSpan(8 + header.Length));
        return result;
    }

    private static byte[] Header(byte[] file) => file.Length < 8 ? Array.Empty<byte>() : file[8..HeaderEnd(file)];

    private static byte[] Splice(byte[] bytes, int start, int removed, ReadOnlySpan<byte> inserted)
    {
        var result = new byte[bytes.Length - removed + inserted.Length];
        bytes.AsSpan(0, start).CopyTo(result);
        inserted.CopyTo(result.AsSpan(start));
        bytes.AsSpan(start + removed).CopyTo(result.AsSpan(start + inserted.Length));
        return result;
    }

    // ---- mutations -----------------------------------------------------------------------------------

    private static byte[] FlipBit(Random random, byte[] file)
    {
        if (file.Length == 0) return file;
        var result = (byte[])file.Clone();
        result[random.Next(result.Length)] ^= (byte)(1 << random.Next(8));
        return result;
    }

    private static byte[] OverwriteHeaderByte(Random random, byte[] file)
    {
        var header = Header(file);
        if (header.Length == 0) return FlipBit(random, file);
        header[random.Next(header.Length)] = random.Next(2) == 0
            ? Structural[random.Next(Structural.Length)]
            : (byte)random.Next(256);
        return WithHeader(file, header);
    }

    private static byte[] OverwriteDataByte(Random random, byte[] file)
    {
        int start = HeaderEnd(file);
        if (start >= file.Length) return Extend(random, file);
        var result = (byte[])file.Clone();
        int count = 1 + random.Next(Math.Min(8, file.Length - start));
        for (int i = 0; i < count; i++) result[start + random.Next(file.Length - start)] = (byte)random.Next(256);
        return result;
    }

    private static byte[] Truncate(Random random, byte[] file)
    {
        if (file.Length == 0) return file;
        int length = random.Next(4) switch
        {
            0 => random.Next(Math.Min(file.Length, 9)),
            1 => file.Length - 1,
            2 => Math.Max(0, HeaderEnd(file) + random.Next(-2, 3)),
            _ => random.Next(file.Length),
        };
        return file[..Math.Min(length, file.Length)];
    }

    private static byte[] Extend(Random random, byte[] file)
    {
        var tail = new byte[1 + random.Next(64)];
        switch (random.Next(3))
        {
            case 0: random.NextBytes(tail); break;
            case 1: Array.Fill(tail, (byte)' '); break;
        }
        return [.. file, .. tail];
    }

    private static byte[] SetHeaderLength(Random random, byte[] file)
    {
        var result = file.Length >= 8 ? (byte[])file.Clone() : [.. file, .. new byte[8 - file.Length]];
        ulong current = BinaryPrimitives.ReadUInt64LittleEndian(result);
        ulong[] choices =
        {
            0, 1, 2, 7, current + 1, current - 1, current + 8, current - 8, (ulong)result.Length - 8,
            (ulong)result.Length, int.MaxValue, uint.MaxValue, 1UL << 32, 1UL << 63, ulong.MaxValue,
            (ulong)SafeTensorsHeader.MaxHeaderBytes, (ulong)SafeTensorsHeader.MaxHeaderBytes + 1,
            (ulong)random.NextInt64(), current ^ (1UL << random.Next(64)),
        };
        BinaryPrimitives.WriteUInt64LittleEndian(result, choices[random.Next(choices.Length)]);
        return result;
    }

    /// <summary>Replaces one number token of the header (offsets, shape dims) with an edge value.</summary>
    private static byte[] EditNumber(Random random, byte[] file)
    {
        var header = Header(file);
        var numbers = new List<(int Start, int Length)>();
        for (int i = 0; i < header.Length; i++)
        {
            if (!IsDigit(header[i]) || (i > 0 && (IsDigit(header[i - 1]) || header[i - 1] == '-'))) continue;
            int start = i > 0 && header[i - 1] == '-' ? i - 1 : i;
            int end = i;
            while (end < header.Length && IsDigit(header[end])) end++;
            // Skip digits inside names and dtype strings: a number token follows ':', '[' , ',' or a space.
            if (start > 0 && header[start - 1] is not ((byte)'[' or (byte)',' or (byte)':' or (byte)' ')) continue;
            numbers.Add((start, end - start));
        }
        if (numbers.Count == 0) return OverwriteHeaderByte(random, file);
        var (at, length) = numbers[random.Next(numbers.Count)];
        string replacement;
        if (random.Next(3) == 0 && long.TryParse(Encoding.ASCII.GetString(header, at, length), out long value))
            replacement = (value + random.Next(-9, 10)).ToString();
        else
            replacement = Numbers[random.Next(Numbers.Length)];
        return WithHeader(file, Splice(header, at, length, Encoding.ASCII.GetBytes(replacement)));
    }

    private static bool IsDigit(byte b) => b is >= (byte)'0' and <= (byte)'9';

    private static byte[] SwapDType(Random random, byte[] file)
    {
        var header = Header(file);
        var key = "\"dtype\":\""u8;
        var found = new List<int>();
        for (int i = header.AsSpan().IndexOf(key); i >= 0;)
        {
            found.Add(i + key.Length);
            int next = header.AsSpan(i + 1).IndexOf(key);
            i = next < 0 ? -1 : i + 1 + next;
        }
        if (found.Count == 0) return OverwriteHeaderByte(random, file);
        int start = found[random.Next(found.Count)];
        int length = header.AsSpan(start).IndexOf((byte)'"');
        if (length < 0) return OverwriteHeaderByte(random, file);
        var replacement = Encoding.UTF8.GetBytes(DTypes[random.Next(DTypes.Length)]);
        return WithHeader(file, Splice(header, start, length, replacement));
    }

    private static byte[] DeleteHeaderBytes(Random random, byte[] file)
    {
        var header = Header(file);
        if (header.Length == 0) return Truncate(random, file);
        int start = random.Next(header.Length);
        int count = 1 + random.Next(Math.Min(16, header.Length - start));
        return WithHeader(file, Splice(header, start, count, ReadOnlySpan<byte>.Empty));
    }

    /// <summary>Copies a slice of the header elsewhere in it: duplicate entries, keys and values.</summary>
    private static byte[] CopyHeaderSlice(Random random, byte[] file)
    {
        var header = Header(file);
        if (header.Length == 0) return Extend(random, file);
        int start = random.Next(header.Length);
        int count = 1 + random.Next(Math.Min(96, header.Length - start));
        var slice = header.AsSpan(start, count).ToArray();
        return WithHeader(file, Splice(header, random.Next(header.Length + 1), 0, slice));
    }

    private static byte[] InsertNonUtf8(Random random, byte[] file)
    {
        byte[][] bad =
        {
            new byte[] { 0xFF }, new byte[] { 0xC0, 0x80 }, new byte[] { 0xED, 0xA0, 0x80 }, new byte[] { 0xE2, 0x82 },
            new byte[] { 0xF4, 0x90, 0x80, 0x80 }, new byte[] { 0x80 }, new byte[] { 0xEF, 0xBB, 0xBF },
        };
        var header = Header(file);
        // Prefer a position inside a string (just after a quote) so the bytes reach a name or a value.
        var quotes = Enumerable.Range(0, header.Length).Where(i => header[i] == '"').ToList();
        int at = quotes.Count > 0 && random.Next(4) != 0 ? quotes[random.Next(quotes.Count)] + 1 : random.Next(header.Length + 1);
        return WithHeader(file, Splice(header, at, 0, bad[random.Next(bad.Length)]));
    }

    private static byte[] ShiftData(Random random, byte[] file)
    {
        int start = HeaderEnd(file);
        int count = 1 + random.Next(8);
        return random.Next(2) == 0 || start >= file.Length
            ? Splice(file, start, 0, new byte[count])
            : Splice(file, start, Math.Min(count, file.Length - start), ReadOnlySpan<byte>.Empty);
    }
}
