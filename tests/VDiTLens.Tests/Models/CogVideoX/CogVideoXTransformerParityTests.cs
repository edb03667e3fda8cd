using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Models.CogVideoX;
using VDiTLens.Models.Common;
using VDiTLens.Runtime;
using VDiTLens.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Models.CogVideoX;

public sealed class CogVideoXTransformerParityTests(ITestOutputHelper log)
{
    private void Check(Tensor actual, Tensor expected, double tolerance, string what)
    {
        log.WriteLine($"{what}: relative L2 {Fixtures.RelativeL2(actual, expected):E2}");
        Fixtures.AssertClose(actual, expected, tolerance, what);
    }

    private static (CogVideoXTransformer3DModel Model, Dictionary<string, Tensor> Data) Setup(string fixture, ScalarType dtype)
    {
        TorchRuntime.Initialise();
        var model = TransformerLoader.Load(Fixtures.Path(fixture), new ComputeOptions(torch.CPU, dtype, 0));
        var data = Fixtures.Load($"{fixture}/inputs_outputs.safetensors");
        return ((CogVideoXTransformer3DModel)model, data);
    }

    [Theory]
    [InlineData("cogvideox_2b")]
    [InlineData("cogvideox_5b")]
    public void Block_outputs_match_diffusers(string fixture)
    {
        var (model, data) = Setup(fixture, ScalarType.Float64);
        var seen = new List<string>();
        model.Hooks.Observer = (key, value) =>
        {
            using var _ = value;
            // the fixture names block i's streams block_out.{i}.hidden|encoder; the hooks name blocks by their prefix
            key = key.StartsWith("transformer_blocks.", StringComparison.Ordinal) ? "block_out." + key["transformer_blocks.".Length..] : key;
            Check(value, data[key], 1e-7, $"{fixture} {key}");
            seen.Add(key);
        };
        using var _ = torch.no_grad();
        model.Forward(data);
        Assert.Equal(2 * model.Config.num_layers, seen.Count);
    }

    [Theory]
    [InlineData("cogvideox_2b")]
    [InlineData("cogvideox_5b")]
    public void Attention_probabilities_match_diffusers(string fixture)
    {
        var (model, data) = Setup(fixture, ScalarType.Float32);
        var recorder = new DenseProbabilityRecorder();
        using var attached = model.Seam.Attach(recorder);
        using var _ = torch.no_grad();
        model.Forward(data);
        Assert.Equal(model.Config.num_layers, recorder.Probabilities.Count);
        foreach (var (key, p) in recorder.Probabilities)
            Check(p, data[key], 1e-5, $"{fixture} {key}");
    }

    [Theory]
    [InlineData("cogvideox_2b")]
    [InlineData("cogvideox_5b")]
    public void Seam_receives_the_q_k_v_diffusers_feeds_to_sdpa(string fixture)
    {
        var (model, data) = Setup(fixture, ScalarType.Float64);
        var capture = new FirstCallCapture();
        using var attached = model.Seam.Attach(capture);
        using var _ = torch.no_grad();
        model.Forward(data);
        Check(capture.Q!, data["qkv.0.joint.q"], 1e-7, "q");
        Check(capture.K!, data["qkv.0.joint.k"], 1e-7, "k");
        Check(capture.V!, data["qkv.0.joint.v"], 1e-7, "v");
        var layout = capture.Call!.QueryLayout;
        Assert.Equal(TokenKind.Text, layout.Segments[0].Kind);
        Assert.Equal(data["encoder_hidden_states"].shape[1], layout.Segments[0].Length);
        Assert.Equal(data["qkv.0.joint.q"].shape[2], layout.Length);
    }

    [Fact]
    public void Computed_rotary_tables_equal_the_pipeline_tables()
    {
        var (model, data) = Setup("cogvideox_5b", ScalarType.Float32);
        // As the fixture called the pipeline: height = 8·H, width = 8·W, latent frames F.
        var latents = data["hidden_states"];
        var (cos, sin) = CogVideoXRotaryEmbedding.ForPipeline(model.Config, 8 * (int)latents.shape[3], 8 * (int)latents.shape[4], (int)latents.shape[1]);
        Assert.Equal(ScalarType.Float32, cos.dtype);
        Assert.Equal(data["image_rotary_emb_cos"].shape, cos.shape);
        float cosError = (cos - data["image_rotary_emb_cos"]).abs().max().item<float>();
        float sinError = (sin - data["image_rotary_emb_sin"]).abs().max().item<float>();
        log.WriteLine($"rotary tables max |Δ|: cos {cosError:E2}, sin {sinError:E2}");
        Assert.True(cosError <= 1e-6f && sinError <= 1e-6f, $"rotary tables differ: cos {cosError:E2}, sin {sinError:E2}");
    }

    [Fact]
    public void Output_with_computed_rotary_tables_matches_diffusers()
    {
        var (model, data) = Setup("cogvideox_5b", ScalarType.Float32);
        data.Remove(CogVideoXTransformer3DModel.RotaryCosInput);
        data.Remove(CogVideoXTransformer3DModel.RotarySinInput);
        using var _ = torch.no_grad();
        Check(model.Forward(data), data["output"], 1e-5, "cogvideox_5b output, computed rotary");
    }

    [Fact]
    public void Sin_cos_positions_equal_the_diffusers_buffer()
    {
        var (model, data) = Setup("cogvideox_2b", ScalarType.Float32);
        var c = model.Config;
        var grid = new VideoGrid((c.sample_frames - 1) / c.temporal_compression_ratio + 1, c.sample_height / c.patch_size, c.sample_width / c.patch_size);
        var table = CogVideoXSinCosPositions.Joint(c.InnerDim, grid, c.max_text_seq_length, c.spatial_interpolation_scale, c.temporal_interpolation_scale);
        Check(table, data["patch_embed.pos_embedding"], 1e-7, "pos_embedding");
    }

    [Fact]
    public void Resize_crop_region_rounds_half_to_even_as_python()
    {
        // grid 4×5 into base 6×4: resize to 4×5, left offset round(0.5) = 0 in Python.
        Assert.Equal(((0, 0), (4, 5)), CogVideoXRotaryEmbedding.ResizeCropRegion(4, 5, 6, 4));
        Assert.Equal(((0, 1), (4, 5)), CogVideoXRotaryEmbedding.ResizeCropRegion(4, 4, 6, 4));
    }

    private sealed class FirstCallCapture : IAttentionProbe
    {
        private static Tensor Keep(Tensor t) => t.detach().clone().DetachFromDisposeScope();

        public Tensor? Q, K, V;
        public AttentionCall? Call;
        public bool Accepts(AttentionCall call) => Call is null;
        public void Observe(AttentionCall call, Tensor q, Tensor k, Tensor v, Tensor output)
        {
            Call = call;
            (Q, K, V) = (Keep(q), Keep(k), Keep(v));
        }
    }
}
