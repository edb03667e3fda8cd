using TorchSharp;
using VDiTLens.Runtime;
using VDiTLens.Text;

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
}
