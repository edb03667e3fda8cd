using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.IO;
using VDiTLens.Models.HunyuanVideo.Vae;
using VDiTLens.Runtime;
using VDiTLens.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Models.HunyuanVideo;

public sealed class HunyuanVideoVaeParityTests(ITestOutputHelper output)
{
    private const string Fixture = "hunyuan_video_vae";

    private static (HunyuanVideoVae Vae, Dictionary<string, Tensor> Data) Setup(ScalarType dtype)
    {
        TorchRuntime.Initialise();
        var vae = HunyuanVideoVae.Load(ModelFolder.Open(Fixtures.Path(Fixture)), new ComputeOptions(torch.CPU, dtype, 0));
        return (vae, Fixtures.Load($"{Fixture}/inputs_outputs.safetensors"));
    }

    private void Check(Tensor actual, Tensor expected, double tolerance, string what) =>
        Fixtures.AssertClose(actual, expected, tolerance, what, output);

    [Fact]
    public void Parameter_names_are_the_checkpoint_names()
    {
        var (vae, _) = Setup(ScalarType.Float32);
        using var weights = Checkpoint.Open(Fixtures.Path(Fixture));
        Assert.Equal(weights.Names.OrderBy(n => n, StringComparer.Ordinal), vae.state_dict().Keys.OrderBy(n => n, StringComparer.Ordinal));
    }

    [Fact]
    public void Mid_block_attention_goes_through_the_seam_with_a_causal_frame_mask()
    {
        var (vae, data) = Setup(ScalarType.Float64);
        var recorder = new DenseProbabilityRecorder();
        using var attached = vae.Seam.Attach(recorder);
        vae.Decode(data["z"]);
        Assert.Equal(new[] { "encoder.mid_block.attentions.0", "decoder.mid_block.attentions.0" }, vae.Sites.Select(s => s.Name));
        var p = recorder.Probabilities["decoder.mid_block.attentions.0"].to(ScalarType.Float64);
        // 3 latent frames of 4×4: 48 tokens, one head; frame f sees frames ≤ f, nothing later.
        Assert.Equal(new long[] { 1, 1, 48, 48 }, p.shape);
        Assert.Equal(0.0, p[0, 0, ..16, 16..].abs().max().item<double>());
        Assert.Equal(0.0, p[0, 0, 16..32, 32..].abs().max().item<double>());
        Assert.True(p[0, 0, 32.., ..16].sum().item<double>() > 0, "the last frame attends the first");
        Check(p.sum(-1), torch.ones(1, 1, 48, dtype: ScalarType.Float64), 1e-6, "rows sum to 1 (probabilities stored in float32)");
    }

    [Fact]
    public void Causal_frame_mask_is_diffusers_prepare_causal_attention_mask()
    {
        // diffusers: indices 1..T repeated H·W times, mask[i, j] = 0 where index[j] <= index[i], else −inf.
        using var mask = HunyuanVideoVaeAttention.CausalFrameMask(3, 2, torch.CPU);
        var expected = new bool[6, 6];
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 6; j++)
                expected[i, j] = j / 2 <= i / 2;
        Assert.Equal(expected.Cast<bool>().ToArray(), mask.reshape(36).data<bool>().ToArray());
    }

    [Fact]
    public void Long_clips_decode_in_diffusers_temporal_tiles()
    {
        var (vae, data) = Setup(ScalarType.Float64);
        var z = torch.cat(new[] { data["z"], data["z"].flip(2), data["z"].narrow(2, 0, 2) * 0.5 }, 2).to(ScalarType.Float64); // 8 latent frames
        var video = vae.Decode(z);
        Assert.Equal(new long[] { 1, 3, 29, 32, 32 }, video.shape);
        var expected = NaiveTemporalTiles(z, latentMin: 4, latentStride: 3, sampleStride: 12, blend: 4, total: 29, vae.DecodeWhole);
        Check(video, expected, 1e-12, "tiled decode vs a naive transcription of _temporal_tiled_decode");
        // Frames before the first blend are the first tile's, i.e. the whole decode of latent frames 0..4.
        Check(video.narrow(2, 0, 13), vae.DecodeWhole(z.narrow(2, 0, 5)).narrow(2, 0, 13), 0, "first tile");
    }

    [Fact]
    public void Long_clips_encode_in_diffusers_temporal_tiles()
    {
        var (vae, data) = Setup(ScalarType.Float64);
        var clip = torch.cat(new[] { data["video"], data["video"].flip(2), data["video"] * 0.5, data["video"].narrow(2, 0, 2) }, 2).to(ScalarType.Float64); // 29 frames
        var moments = vae.EncodeMoments(clip);
        Assert.Equal(new long[] { 1, 8, 8, 4, 4 }, moments.shape);
        var expected = NaiveTemporalTiles(clip, latentMin: 16, latentStride: 12, sampleStride: 3, blend: 1, total: 8, vae.EncodeWhole);
        Check(moments, expected, 1e-12, "tiled encode vs a naive transcription of _temporal_tiled_encode");
    }

    /// <summary>diffusers' tile loop and blend_t written out literally (tiles of min+1 every stride, in-place blends).</summary>
    private static Tensor NaiveTemporalTiles(Tensor x, int latentMin, int latentStride, int sampleStride, int blend, long total, Func<Tensor, Tensor> run)
    {
        var row = new List<Tensor>();
        for (long i = 0; i < x.shape[2]; i += latentStride)
        {
            var tile = run(x[.., .., (int)i..(int)Math.Min(i + latentMin + 1, x.shape[2])]);
            row.Add(i > 0 ? tile[.., .., 1..].clone() : tile);
        }
        var result = new List<Tensor>();
        for (int i = 0; i < row.Count; i++)
        {
            if (i == 0) { result.Add(row[0][.., .., ..(sampleStride + 1)]); continue; }
            var a = row[i - 1];
            var b = row[i];
            long e = Math.Min(Math.Min(a.shape[2], b.shape[2]), blend);
            for (long f = 0; f < e; f++)
                b[.., .., f] = a[.., .., a.shape[2] - e + f] * (1 - (double)f / e) + b[.., .., f] * ((double)f / e);
            result.Add(b[.., .., ..sampleStride]);
        }
        return torch.cat(result, 2)[.., .., ..(int)total];
    }

    [Fact]
    public void Inputs_of_the_wrong_shape_are_refused()
    {
        var (vae, _) = Setup(ScalarType.Float32);
        var e = Assert.Throws<VDiTLensException>(() => vae.Decode(torch.zeros(new long[] { 1, 3, 2, 1, 1 })));
        Assert.Contains("latent_channels = 4", e.Message);
        Assert.Throws<VDiTLensException>(() => vae.Encode(torch.zeros(new long[] { 1, 4, 9, 8, 8 })));
    }
}
