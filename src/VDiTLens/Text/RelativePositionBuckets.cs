using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Text;

/// <summary>
/// T5's bidirectional relative-position buckets: half the buckets for keys after the query, half for keys before;
/// within each half, distances below num_buckets/4 get their own bucket, larger ones share log-spaced buckets up
/// to max_distance (and beyond it the last bucket). Computed in float32 exactly as transformers does.
/// </summary>
public static class RelativePositionBuckets
{
    /// <returns>int64 [queryLength, keyLength] bucket indices for relative position key − query.</returns>
    public static Tensor Bidirectional(long queryLength, long keyLength, int numBuckets, int maxDistance, Device device)
    {
        using var scope = torch.NewDisposeScope();
        var context = torch.arange(queryLength, dtype: ScalarType.Int64, device: device).unsqueeze(1);
        var memory = torch.arange(keyLength, dtype: ScalarType.Int64, device: device).unsqueeze(0);
        var relative = memory - context;

        long half = numBuckets / 2;
        var buckets = relative.gt(0).to(ScalarType.Int64) * half;
        var distance = relative.abs();
        long maxExact = half / 2;
        var isSmall = distance.lt(maxExact);
        // log(0) = -inf only where isSmall picks the exact distance instead.
        var large = (distance.to(ScalarType.Float32) / (float)maxExact).log() / Math.Log((double)maxDistance / maxExact) * (float)(half - maxExact);
        var largeBucket = (large.to(ScalarType.Int64) + maxExact).clamp_max(half - 1);
        buckets = buckets + torch.where(isSmall, distance, largeBucket);
        return buckets.MoveToOuterDisposeScope();
    }
}
