namespace VDiTLens.Reports.Explorer;

/// <summary>
/// Non-negative values stored as 16-bit integers with one scale per group of <c>groupSize</c> values:
/// value ≈ q · scale, scale = group maximum / 65535, so each value is within scale / 2 of the original.
/// </summary>
public sealed record Quantised(byte[] Codes, float[] Scales, int GroupSize)
{
    public const int Levels = 65535;

    public static Quantised Of(float[] values, int groupSize)
    {
        if (groupSize < 1 || values.Length % groupSize != 0)
            throw new VDiTLensException($"explorer data: {values.Length} values do not split into groups of {groupSize}");
        var codes = new byte[values.Length * 2];
        var scales = new float[values.Length / groupSize];
        for (int g = 0; g < scales.Length; g++)
        {
            float max = 0;
            for (int i = g * groupSize; i < (g + 1) * groupSize; i++)
                if (float.IsFinite(values[i])) max = Math.Max(max, values[i]);
            float scale = max > 0 ? max / Levels : 0;
            scales[g] = scale;
            for (int i = g * groupSize; i < (g + 1) * groupSize; i++)
            {
                float v = float.IsFinite(values[i]) ? Math.Max(0, values[i]) : 0;
                ushort q = scale > 0 ? (ushort)Math.Clamp(Math.Round(v / scale), 0, Levels) : (ushort)0;
                codes[2 * i] = (byte)q;
                codes[2 * i + 1] = (byte)(q >> 8);
            }
        }
        return new Quantised(codes, scales, groupSize);
    }

    /// <summary>The value at <paramref name="index"/> as the explorer decodes it.</summary>
    public double Decode(int index) => (Codes[2 * index] | Codes[2 * index + 1] << 8) * (double)Scales[index / GroupSize];

    /// <summary>The JSON form the explorer script reads: base64 little-endian codes and float32 scales.</summary>
    public object ToJson() => new
    {
        q = Convert.ToBase64String(Codes),
        scale = Convert.ToBase64String(Scales.SelectMany(BitConverter.GetBytes).ToArray()),
        group = GroupSize,
    };
}
