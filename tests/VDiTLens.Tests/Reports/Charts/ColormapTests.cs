using VDiTLens.Reports.Charts;

namespace VDiTLens.Tests.Reports.Charts;

public sealed class ColormapTests
{
    [Fact]
    public void Viridis_matches_matplotlib_at_its_samples_and_interpolates_between_them()
    {
        Assert.Equal(((byte)0x44, (byte)0x01, (byte)0x54), Colormap.Viridis(0));      // matplotlib viridis(0.0)
        Assert.Equal(((byte)0x21, (byte)0x91, (byte)0x8c), Colormap.Viridis(0.5));    // viridis(0.5)
        Assert.Equal(((byte)0xfd, (byte)0xe7, (byte)0x25), Colormap.Viridis(1));      // viridis(1.0)
        // A quarter of the way from #440154 to #482475: (68 + 1, 1 + 8.75, 84 + 8.25), rounded.
        Assert.Equal(((byte)69, (byte)10, (byte)92), Colormap.Viridis(0.025));
        Assert.Equal(Colormap.Viridis(0), Colormap.Viridis(double.NaN));
        Assert.Equal(Colormap.Viridis(1), Colormap.Viridis(7));
        Assert.Equal("#21918c", Colormap.Hex(Colormap.Viridis(0.5)));
    }
}
