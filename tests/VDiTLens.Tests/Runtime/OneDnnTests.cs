using VDiTLens.Runtime;
using Xunit;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Runtime;

public sealed class OneDnnTests
{
    [Fact]
    public void The_libtorch_in_use_exports_the_switch_and_the_backend_ends_up_off()
    {
        _ = zeros(1); // libtorch loaded
        Assert.True(OneDnn.EnsureDisabled(), "libtorch did not export at::Context::setUserEnabledMkldnn");
        Assert.True(OneDnn.EnsureDisabled());
    }
}
