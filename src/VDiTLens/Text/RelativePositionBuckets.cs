using System.Collections.Concurrent;
using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Text;

/// <summary>
/// T5's bidirectional relative-position buckets: half the buckets for keys after the query, half for keys before;
/// within each half, distances below num_buckets/4 get their own bucket, larger ones share log-spaced buckets up
/// to max_distance (and beyond it the last bucket). The log is taken in float32 exactly as transformers does.
/// </summary>
/// <remarks>
/// The table is computed in plain C# once per (query length, key length, buckets, distance) and uploaded: integer
/// tensor arithmetic in every training step hit TorchSharp's native "alpha must not be a floating point number" error.
/// </remarks>
public static class RelativePositionBuckets
{
    private static readonly ConcurrentDictionary<(long, long, int, int), long[]> Tables = new();

    /// <returns>int64 [queryLength, keyLength] bucket indices for relative position key − query.</returns>
    public static Tensor Bidirectional(long queryLength, long keyLength, int numBuckets, int maxDistance, Device device)
    {
        var table = Tables.GetOrAdd((queryLength, keyLength, numBuckets, maxDistance),
            key => Table(key.Item1, key.Item2, key.Item3, key.Item4));
        return torch.tensor(table, new[] { queryLength, keyLength }, ScalarType.Int64).to(device);
    }

    /// <summary>The bucket of one relative position (key − query).</summary>
    public static long Bucket(long relative, int numBuckets, int maxDistance)
    {
        long half = numBuckets / 2;
        long bucket = relative > 0 ? half : 0;
        long distance = Math.Abs(relative);
        long maxExact = half / 2;
        if (distance < maxExact) return bucket + distance;
        // float32 steps as in transformers: log(d / max_exact) / log(max_distance / max_exact) * (half − max_exact).
        float scaled = MathF.Log(distance / (float)maxExact) / (float)Math.Log((double)maxDistance / maxExact) * (half - maxExact);
        return bucket + Math.Min((long)scaled + maxExact, half - 1);
    }

    private static long[] Table(long queryLength, long keyLength, int numBuckets, int maxDistance)
    {
        var table = new long[queryLength * keyLength];
        for (long q = 0; q < queryLength; q++)
            for (long k = 0; k < keyLength; k++)
                table[q * keyLength + k] = Bucket(k - q, numBuckets, maxDistance);
        return table;
    }
}
