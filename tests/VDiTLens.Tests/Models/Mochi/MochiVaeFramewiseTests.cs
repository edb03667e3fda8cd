using TorchSharp;
using VDiTLens.Models.Mochi.Vae;
using VDiTLens.Runtime;
using VDiTLens.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Models.Mochi;

/// <summary>
/// No fixture covers diffusers' use_framewise_decoding, so these test what its code implies: every decoder layer is
/// per-frame or a causal conv that pads with the cached past (pad_mode "constant": zeros in space, the first frame
/// repeated before the first batch), so the output cannot depend on how the latent frames are batched.
/// </summary>
public sealed class MochiVaeFramewiseTests(ITestOutputHelper output)
{
    private Tensor DecodeFramewise(MochiVae vae, Tensor z, int framesPerBatch)
    {
        vae.FramewiseDecoding = true;
        vae.LatentFramesPerBatch = framesPerBatch;
        return vae.Decode(z);
    }

    [Fact]
    public void Framewise_decode_does_not_depend_on_the_batching_of_latent_frames()
    {
        var (vae, data) = MochiVaeParityTests.Setup(ScalarType.Float64);
        var z = data["z"];
        var whole = DecodeFramewise(vae, z, 3);
        Assert.Equal(new long[] { 1, 3, 13, 32, 32 }, whole.shape);
        foreach (int perBatch in new[] { 1, 2 })
        {
            double error = Fixtures.RelativeL2(DecodeFramewise(vae, z, perBatch), whole);
            output.WriteLine($"framewise, {perBatch} latent frame(s) per batch vs all at once: relative L2 {error:E3}");
            Assert.True(error < 1e-13, $"batches of {perBatch}: {error:E3}");
        }
    }

    [Fact]
    public void Framewise_decode_is_causal()
    {
        var (vae, data) = MochiVaeParityTests.Setup(ScalarType.Float64);
        var z = data["z"];
        var full = DecodeFramewise(vae, z, 2);
        var changedLast = z.clone();
        changedLast.narrow(2, 2, 1).mul_(-3.0);
        var other = DecodeFramewise(vae, changedLast, 2);
        // latent frames 0 and 1 give output frames 0..6 (1 + 6 after dropping 5): untouched by latent frame 2
        Assert.True(Fixtures.RelativeL2(other.narrow(2, 0, 7), full.narrow(2, 0, 7)) < 1e-14);
        Assert.True(Fixtures.RelativeL2(other.narrow(2, 7, 6), full.narrow(2, 7, 6)) > 1e-3);
    }

    [Fact]
    public void Framewise_decode_switches_the_padding_as_diffusers_does()
    {
        // Not a parity check (no fixture has a framewise decode): it records how far diffusers' two modes are apart
        // on the fixture. Zeros instead of edge pixels around every 3×3 conv on 4×4 latents move every pixel, through
        // the per-frame group norms' statistics as well, so the two outputs are far apart.
        var (vae, data) = MochiVaeParityTests.Setup(ScalarType.Float64);
        var framewise = DecodeFramewise(vae, data["z"], 2);
        double error = Fixtures.RelativeL2(framewise, data["decode"]);
        output.WriteLine($"framewise vs diffusers' default (one-shot, replicate) decode: relative L2 {error:E3}");
        Assert.True(error > 1e-3, $"framewise decoding should pad with zeros in space: {error:E3}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Causal_conv_pads_as_diffusers_does(bool framewise)
    {
        TorchRuntime.Initialise();
        var conv = MochiCausalConv3d.Cube(2, torch.CPU, ScalarType.Float64);
        var x = torch.randn(new long[] { 1, 2, 4, 5, 5 }, ScalarType.Float64);
        // the reference pads by hand: two copies of frame 0 in front; edge pixels (one shot) or zeros (framewise) around
        var first = x.narrow(2, 0, 1);
        var timePadded = torch.cat(new[] { first, first, x }, 2);
        var padded = framewise
            ? nn.functional.pad(timePadded, new long[] { 1, 1, 1, 1, 0, 0 })
            : torch.cat(new[] { timePadded.narrow(3, 0, 1), timePadded, timePadded.narrow(3, 4, 1) }, 3) is var rows
                ? torch.cat(new[] { rows.narrow(4, 0, 1), rows, rows.narrow(4, 4, 1) }, 4)
                : throw new InvalidOperationException();
        var expected = nn.functional.conv3d(padded, conv.conv.weight!, conv.conv.bias);
        using var cache = framewise ? new MochiCausalCache() : null;
        Fixtures.AssertClose(conv.Forward(x, cache), expected, 1e-14, framewise ? "constant padding" : "replicate padding");
        if (!framewise) return;
        // the next batch continues from the last two frames of this one
        var next = torch.randn(new long[] { 1, 2, 3, 5, 5 }, ScalarType.Float64);
        var continued = nn.functional.pad(torch.cat(new[] { x.narrow(2, 2, 2), next }, 2), new long[] { 1, 1, 1, 1, 0, 0 });
        Fixtures.AssertClose(conv.Forward(next, cache), nn.functional.conv3d(continued, conv.conv.weight!, conv.conv.bias), 1e-14, "cached past");
    }
}
