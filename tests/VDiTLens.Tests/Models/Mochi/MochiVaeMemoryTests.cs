using TorchSharp;
using VDiTLens.Models.Mochi.Vae;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Models.Mochi;

public sealed class MochiVaeMemoryTests
{
    [Fact]
    public void Decode_and_encode_leave_no_live_tensors_behind()
    {
        var (vae, data) = MochiVaeParityTests.Setup(ScalarType.Float32);
        vae.Decode(data["z"]).Dispose();
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        vae.Decode(data["z"]).Dispose();
        vae.FramewiseDecoding = true;
        vae.Decode(data["z"]).Dispose();
        var posterior = vae.Encode(data["video"]);
        posterior.Moments.Dispose();
        posterior.Mean.Dispose();
        posterior.LogVar.Dispose();
        long after = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        Assert.Equal(before, after);
    }
}
