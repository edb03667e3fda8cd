using TorchSharp;
using VDiTLens.IO;
using VDiTLens.Models.Wan.Vae;
using VDiTLens.Runtime;
using VDiTLens.Tests.TestSupport;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Models.Wan;

public sealed class WanVaeMemoryTests
{
    [Fact]
    public void Decode_and_encode_leave_no_live_tensors_behind()
    {
        TorchRuntime.Initialise();
        var vae = WanVae.Load(ModelFolder.Open(Fixtures.Path("wan_vae")), ComputeOptions.Cpu32);
        var data = Fixtures.Load("wan_vae/inputs_outputs.safetensors");
        vae.Decode(data["z"]).Dispose();
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        vae.Decode(data["z"]).Dispose();
        var posterior = vae.Encode(data["video"]);
        posterior.Moments.Dispose();
        posterior.Mean.Dispose();
        posterior.LogVar.Dispose();
        long after = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        Assert.Equal(before, after);
    }
}
