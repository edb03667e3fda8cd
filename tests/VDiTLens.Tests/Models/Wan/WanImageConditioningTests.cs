using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.IO;
using VDiTLens.Models.Common;
using VDiTLens.Models.Wan;
using VDiTLens.Runtime;
using VDiTLens.Tests.TestSupport;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Models.Wan;

/// <summary>
/// The Wan2.1 I2V transformer's image path (image_embedder, the image keys/values of every cross-attention): against
/// diffusers through the text-to-video fixture (zero image values change nothing), and against dense float64
/// computations written out here.
/// </summary>
public sealed class WanImageConditioningTests
{
    private static (WanTransformer3DModel TextToVideo, Dictionary<string, Tensor> Data) TextToVideo(ScalarType dtype)
    {
        TorchRuntime.Initialise();
        var model = WanTransformer3DModel.Load(ModelFolder.Open(Fixtures.Path("wan_t2v")), new ComputeOptions(torch.CPU, dtype, 0));
        return (model, Fixtures.Load("wan_t2v/inputs_outputs.safetensors"));
    }

    [Fact]
    public void Zero_image_values_reproduce_the_diffusers_text_to_video_output()
    {
        var (t2v, data) = TextToVideo(ScalarType.Float32);
        using var model = WanImageModels.FromTextToVideo(t2v, WanImageModels.ImageConfig(t2v.Config, 20), zeroImageValues: true, 1, ScalarType.Float32);
        using var image = torch.randn(2, 5, 20);
        using var _ = torch.no_grad();
        using var output = model.Forward(data["hidden_states"], data["timestep"], data["encoder_hidden_states"], image);
        double maxAbs = (output - data["output"]).abs().max().item<float>();
        Assert.True(maxAbs <= 1e-4, $"max abs difference {maxAbs:E3}");
        // with the image values the output moves: the image path is live
        using var live = WanImageModels.FromTextToVideo(t2v, WanImageModels.ImageConfig(t2v.Config, 20), zeroImageValues: false, 1, ScalarType.Float32);
        using var moved = live.Forward(data["hidden_states"], data["timestep"], data["encoder_hidden_states"], image);
        Assert.True((moved - data["output"]).abs().max().item<float>() > 1e-3f);
    }

    [Fact]
    public void Image_cross_attention_matches_a_dense_float64_computation()
    {
        TorchRuntime.Initialise();
        torch.manual_seed(11);
        const int heads = 2, dim = 16;
        var seam = new AttentionSeam();
        using var attn = new WanAttention(dim, heads, 1e-6, new AttentionSite("a", 0, AttentionKind.Cross, "a"), seam, torch.CPU, ScalarType.Float64,
            dim, new AttentionSite("a.image", 0, AttentionKind.Cross, "a.image", "image"));
        using var _ = torch.no_grad();
        foreach (var p in attn.parameters()) p.copy_(torch.randn(p.shape, dtype: ScalarType.Float64) * 0.3 + (p.dim() == 1 && p.shape[0] == dim ? 1 : 0));
        var x = torch.randn(new long[] { 2, 7, dim }, dtype: ScalarType.Float64);
        var text = torch.randn(new long[] { 2, 5, dim }, dtype: ScalarType.Float64);
        var image = torch.randn(new long[] { 2, 3, dim }, dtype: ScalarType.Float64);
        var actual = attn.Forward(x, text, null, TokenLayout.Text(7), TokenLayout.Text(5), image, TokenLayout.Text(3));

        Tensor Rms(Tensor t, Tensor w) => t / (t.pow(2).mean(new long[] { -1 }, keepdim: true) + 1e-6).sqrt() * w;
        Tensor Heads(Tensor t) => t.view(t.shape[0], t.shape[1], heads, dim / heads).transpose(1, 2);
        Tensor Attend(Tensor q, Tensor k, Tensor v) => torch.softmax(q.matmul(k.transpose(-1, -2)) / Math.Sqrt(dim / heads), -1).matmul(v);
        Tensor Lin(Tensor t, TorchSharp.Modules.Linear l) => t.matmul(l.weight!.t()) + l.bias!;
        var q = Heads(Rms(Lin(x, attn.to_q), attn.norm_q.weight!));
        var textOut = Attend(q, Heads(Rms(Lin(text, attn.to_k), attn.norm_k.weight!)), Heads(Lin(text, attn.to_v)));
        var imageOut = Attend(q, Heads(Rms(Lin(image, attn.add_k_proj!), attn.norm_added_k!.weight!)), Heads(Lin(image, attn.add_v_proj!)));
        var merged = (textOut + imageOut).transpose(1, 2).reshape(2, 7, dim);
        var expected = Lin(merged, (TorchSharp.Modules.Linear)attn.to_out[0]);
        double maxAbs = (actual - expected).abs().max().item<double>();
        Assert.True(maxAbs <= 1e-12, $"max abs difference {maxAbs:E3}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Image_embedder_matches_a_dense_computation(bool positionEmbedding)
    {
        TorchRuntime.Initialise();
        torch.manual_seed(12);
        using var embedder = new WanImageEmbedding(6, 8, positionEmbedding ? 10 : null, torch.CPU, ScalarType.Float64, ScalarType.Float64);
        using var _ = torch.no_grad();
        foreach (var p in embedder.parameters()) p.copy_(torch.randn(p.shape, dtype: ScalarType.Float64) * 0.3 + 0.5);
        var image = torch.randn(new long[] { positionEmbedding ? 4 : 2, 5, 6 }, dtype: ScalarType.Float64);
        var actual = embedder.Forward(image);

        Tensor Norm(Tensor t, Fp32LayerNorm n)
        {
            var centred = t - t.mean(new long[] { -1 }, keepdim: true);
            return centred / (centred.pow(2).mean(new long[] { -1 }, keepdim: true) + 1e-5).sqrt() * n.weight! + n.bias!;
        }
        var x = positionEmbedding ? image.reshape(2, 10, 6) + embedder.pos_embed! : image;
        var h = Norm(x, embedder.norm1);
        var proj = (TorchSharp.Modules.Linear)((ProjectedActivation)embedder.ff.net[0]).proj;
        var output = (TorchSharp.Modules.Linear)embedder.ff.net[2];
        h = h.matmul(proj.weight!.t()) + proj.bias!;
        h = h * 0.5 * (1 + torch.special.erf(h / Math.Sqrt(2)));
        h = h.matmul(output.weight!.t()) + output.bias!;
        var expected = Norm(h, embedder.norm2);
        Assert.Equal(new long[] { 2, positionEmbedding ? 10 : 5, 8 }, actual.shape);
        // diffusers' FP32LayerNorm normalises in float32 even for float64 inputs
        double maxAbs = (actual - expected).abs().max().item<double>();
        Assert.True(maxAbs <= 1e-5, $"max abs difference {maxAbs:E3}");
    }

    [Fact]
    public void The_seam_sees_the_image_attention_as_a_cross_site_of_its_own()
    {
        var (t2v, data) = TextToVideo(ScalarType.Float32);
        using var model = WanImageModels.FromTextToVideo(t2v, WanImageModels.ImageConfig(t2v.Config, 20), zeroImageValues: false, 1, ScalarType.Float32);
        Assert.Contains(model.Sites, s => s.Name == "blocks.1.attn2.image" && s.Kind == AttentionKind.Cross && s.Stream == "image");
        var seen = new List<(string Site, long Keys)>();
        using var _ = torch.no_grad();
        using (model.Seam.Observe(AttentionSelector.All, (call, q, k, v, o) => seen.Add((call.Site.Name, k.shape[2]))))
            model.Forward(data["hidden_states"], data["timestep"], data["encoder_hidden_states"], torch.randn(2, 5, 20)).Dispose();
        Assert.Equal(new[] { ("blocks.0.attn1", 72L), ("blocks.0.attn2.image", 5L), ("blocks.0.attn2", 10L), ("blocks.1.attn1", 72L), ("blocks.1.attn2.image", 5L), ("blocks.1.attn2", 10L) }, seen);

        // an intervention at the image sites that zeroes their output gives the model without image values
        using var zero = WanImageModels.FromTextToVideo(t2v, WanImageModels.ImageConfig(t2v.Config, 20), zeroImageValues: true, 1, ScalarType.Float32);
        using var image = torch.randn(2, 5, 20);
        using var expected = zero.Forward(data["hidden_states"], data["timestep"], data["encoder_hidden_states"], image);
        Tensor actual;
        using (model.Seam.Intercept(new AttentionSelector { Sites = new[] { "blocks.*" } }, (call, q, k, v, next) =>
                   call.Site.Stream == "image" ? next(call, q, k, v * 0) : next(call, q, k, v)))
            actual = model.Forward(data["hidden_states"], data["timestep"], data["encoder_hidden_states"], image);
        using (actual) Assert.True((actual - expected).abs().max().item<float>() <= 1e-5f);
    }

    [Fact]
    public void An_image_transformer_refuses_a_call_without_image_embeddings()
    {
        var (t2v, data) = TextToVideo(ScalarType.Float32);
        using var model = WanImageModels.FromTextToVideo(t2v, WanImageModels.ImageConfig(t2v.Config, 20), zeroImageValues: false, 1, ScalarType.Float32);
        Assert.Contains("encoder_hidden_states_image", model.RequiredInputs);
        var e = Assert.Throws<VDiTLensException>(() => model.Forward(data["hidden_states"], data["timestep"], data["encoder_hidden_states"]));
        Assert.Contains("encoder_hidden_states_image must be [2, tokens, 20]", e.Message);
        var flat = Assert.Throws<VDiTLensException>(() => t2v.Forward(data["hidden_states"], data["timestep"], data["encoder_hidden_states"], torch.randn(2, 5, 20)));
        Assert.Contains("no image embedder", flat.Message);
    }

    [Fact]
    public void A_config_with_image_dim_but_no_image_projections_is_refused()
    {
        string dir = Directory.CreateTempSubdirectory("vditlens-wancfg-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "config.json"), "{\"_class_name\":\"WanTransformer3DModel\",\"image_dim\":1280,\"added_kv_proj_dim\":null}");
            var e = Assert.Throws<VDiTLensException>(() => WanConfig.Read(ModelFolder.Open(dir)));
            Assert.Contains("'image_dim' = 1280 and 'added_kv_proj_dim' = null", e.Message);
        }
        finally { Directory.Delete(dir, true); }
    }
}
