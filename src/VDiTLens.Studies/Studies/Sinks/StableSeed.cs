namespace VDiTLens.Studies.Sinks;

/// <summary>Seeds derived from several values, identical in every process (unlike HashCode.Combine).</summary>
public static class StableSeed
{
    public static int Of(params long[] parts)
    {
        ulong h = 0x9E3779B97F4A7C15;
        foreach (long p in parts)
        {
            h ^= (ulong)p + 0x9E3779B97F4A7C15 + (h << 6) + (h >> 2);
            h = SplitMix(h);
        }
        return (int)(h & 0x7FFFFFFF);
    }

    /// <summary>A stable 64-bit FNV-1a hash of a string.</summary>
    public static long Of(string text)
    {
        ulong h = 14695981039346656037;
        foreach (char c in text)
        {
            h ^= c;
            h *= 1099511628211;
        }
        return (long)h;
    }

    private static ulong SplitMix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }
}
