using VDiTLens.Runtime;

namespace VDiTLens.Tests.Runtime;

public sealed class NnpackTests
{
    [Fact]
    public void Loading_the_runtime_turns_nnpack_off_on_linux()
    {
        TorchRuntime.Initialise();
        if (!OperatingSystem.IsLinux())
        {
            Assert.Null(Nnpack.Enabled);
            return;
        }
        Assert.False(Assert.NotNull(Nnpack.Enabled));
    }
}
