using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Attention;

/// <summary>The dense kernel's unmasked path over a shared key prefix against masked attention (float64, dense reference).</summary>
public sealed class PrefixKeyMaskTests
{
    private static readonly AttentionSite Site = new("t.attn", 0, AttentionKind.Joint, "attn.0.joint");

    private static (Tensor Q, Tensor K, Tensor V, Tensor Mask) Inputs(long length, long valid)
    {
        TorchRuntime.Initialise();
        using var g = new Generator(11);
        var q = torch.randn(new long[] { 2, 3, length, 8 }, ScalarType.Float64, generator: g) * 2;
        var k = torch.randn(new long[] { 2, 3, length, 8 }, ScalarType.Float64, generator: g) * 2;
        var v = torch.randn(new long[] { 2, 3, length, 8 }, ScalarType.Float64, generator: g);
        var mask = torch.arange(length).lt(valid).view(1, 1, 1, length).expand(2, 1, 1, length).contiguous();
        return (q, k, v, mask);
    }

    private static Tensor Reference(Tensor q, Tensor k, Tensor v, Tensor mask) =>
        torch.matmul(AttentionKernels.Probabilities(q, k, 1 / Math.Sqrt(8), mask), v);

    [Fact]
    public void PrefixPathEqualsMaskedAttention()
    {
        var (q, k, v, mask) = Inputs(20, 13);
        var seam = new AttentionSeam();
        var layout = TokenLayout.Text(20);
        var output = seam.Attend(Site, q, k, v, layout, layout, mask, prefixKeys: new PrefixKeyMask(mask, 13));
        double error = (output - Reference(q, k, v, mask)).abs().max().item<double>();
        Assert.True(error < 1e-12, $"max error {error}");
    }

    [Fact]
    public void PrefixOfADifferentMaskIsIgnored()
    {
        var (q, k, v, mask) = Inputs(20, 13);
        var seam = new AttentionSeam();
        var layout = TokenLayout.Text(20);
        // The prefix describes another mask object, so the call must honour the given mask (only 9 keys).
        var (_, _, _, shorter) = Inputs(20, 9);
        var output = seam.Attend(Site, q, k, v, layout, layout, shorter, prefixKeys: new PrefixKeyMask(mask, 13));
        double error = (output - Reference(q, k, v, shorter)).abs().max().item<double>();
        Assert.True(error < 1e-12, $"max error {error}");
    }

    [Fact]
    public void InterventionThatReplacesTheMaskTurnsThePrefixOff()
    {
        var (q, k, v, mask) = Inputs(20, 13);
        var (_, _, _, shorter) = Inputs(20, 9);
        var seam = new AttentionSeam();
        using var _ = seam.Attach(new ReplaceMask(shorter));
        var layout = TokenLayout.Text(20);
        var output = seam.Attend(Site, q, k, v, layout, layout, mask, prefixKeys: new PrefixKeyMask(mask, 13));
        double error = (output - Reference(q, k, v, shorter)).abs().max().item<double>();
        Assert.True(error < 1e-12, $"max error {error}");
    }

    private sealed class ReplaceMask(Tensor mask) : IAttentionIntervention
    {
        public bool Accepts(AttentionCall call) => true;
        public Tensor Invoke(AttentionCall call, Tensor q, Tensor k, Tensor v, AttentionNext next) => next(call with { Mask = mask }, q, k, v);
    }
}
