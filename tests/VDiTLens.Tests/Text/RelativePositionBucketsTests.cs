using TorchSharp;
using VDiTLens.Runtime;
using VDiTLens.Text;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Text;

public sealed class RelativePositionBucketsTests
{
    // The fixtures use 8 buckets / distance 16; this pins the real T5 / umT5 setting (32 buckets, distance 128).
    [Theory]
    [InlineData(0, 0)]
    [InlineData(-1, 1)]
    [InlineData(1, 17)]
    [InlineData(-7, 7)]
    [InlineData(7, 23)]
    [InlineData(-8, 8)]   // first log-spaced bucket
    [InlineData(16, 26)]  // 16 + 8 + floor(log(2)/log(16)·8) = 26
    [InlineData(-127, 15)]
    [InlineData(-128, 15)]
    [InlineData(500, 31)] // beyond max_distance: the last bucket of the "after" half
    public void Real_t5_buckets_follow_the_log_spaced_rule(int relative, long bucket)
    {
        TorchRuntime.Initialise();
        int length = Math.Abs(relative) + 1;
        using var buckets = RelativePositionBuckets.Bidirectional(length, length, 32, 128, torch.CPU);
        // key − query = relative: query 0 → key relative (if positive), or query |relative| → key 0.
        long value = relative >= 0 ? buckets[0, relative].item<long>() : buckets[-relative, 0].item<long>();
        Assert.Equal(bucket, value);
    }

    // Independent reference: transformers' _relative_position_bucket written with torch ops (float32 log on the CPU).
    [Theory]
    [InlineData(8, 16)]
    [InlineData(32, 128)]
    [InlineData(32, 64)]
    public void The_cached_table_equals_torch_float32_arithmetic(int numBuckets, int maxDistance)
    {
        TorchRuntime.Initialise();
        const long queryLength = 300, keyLength = 700;
        using var scope = torch.NewDisposeScope();
        var context = torch.arange(queryLength, dtype: ScalarType.Int64).unsqueeze(1);
        var memory = torch.arange(keyLength, dtype: ScalarType.Int64).unsqueeze(0);
        var relative = memory - context;
        long half = numBuckets / 2, maxExact = half / 2;
        var after = relative.gt(0).to(ScalarType.Int64) * half;
        var distance = relative.abs();
        var large = (distance.to(ScalarType.Float32) / (float)maxExact).log() / Math.Log((double)maxDistance / maxExact) * (float)(half - maxExact);
        var largeBucket = (large.to(ScalarType.Int64) + maxExact).clamp_max(half - 1);
        var expected = after + torch.where(distance.lt(maxExact), distance, largeBucket);

        var actual = RelativePositionBuckets.Bidirectional(queryLength, keyLength, numBuckets, maxDistance, torch.CPU);
        Assert.Equal(new[] { queryLength, keyLength }, actual.shape);
        Assert.Equal(ScalarType.Int64, actual.dtype);
        Assert.Equal(0L, actual.ne(expected).sum().item<long>());
        // A second call (served from the cache) gives an independent tensor with the same values.
        var again = RelativePositionBuckets.Bidirectional(queryLength, keyLength, numBuckets, maxDistance, torch.CPU);
        actual.zero_();
        Assert.Equal(0L, again.ne(expected).sum().item<long>());
    }
}
