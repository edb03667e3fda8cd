using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Attention.BlockSparse;
using VDiTLens.Interventions;
using VDiTLens.Interventions.Config;
using VDiTLens.Interventions.Sparsity;
using VDiTLens.Models.Common;
using VDiTLens.Runtime;
using VDiTLens.Studies.Sinks;
using VDiTLens.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Interventions;

/// <summary>block_topk (gathered tiles where it can, masked otherwise) through the seam of the tiny Wan fixture model, float64.</summary>
public sealed class BlockTopKAttentionTests(ITestOutputHelper output)
{
    private static (IVideoTransformer Model, Dictionary<string, Tensor> Data) Model()
    {
        TorchRuntime.Initialise();
        return (TransformerLoader.Load(Fixtures.Path("wan_t2v"), new ComputeOptions(torch.CPU, ScalarType.Float64, 0)),
                Fixtures.Load("wan_t2v/inputs_outputs.safetensors", ScalarType.Float64));
    }

    private static Tensor Forward(IVideoTransformer model, Dictionary<string, Tensor> data, params IAttentionIntervention[] interventions)
    {
        using var _ = torch.no_grad();
        var handles = interventions.Select(i => model.Seam.Attach(i)).ToList();
        try { return model.Forward(data); }
        finally { foreach (var h in handles) h.Dispose(); }
    }

    [Theory]
    [InlineData("""[{"type":"block_topk","sparsity":0,"block_size":8,"query_block_size":24,"sites":["self"]}]""")]
    [InlineData("""[{"type":"block_topk","keep_blocks":100,"block_size":10,"query_block_size":25,"sites":["self"]}]""")] // padded last block and tile
    public void At_density_one_it_equals_dense_attention(string config)
    {
        var (model, data) = Model();
        var dense = Forward(model, data);
        var sparse = (BlockTopKAttention)InterventionFactory.FromJson(config).Single();
        var actual = Forward(model, data, sparse);
        double error = Fixtures.RelativeL2(actual, dense);
        var capture = new Capture();
        Forward(model, data, capture);
        var (call, q, k, v) = capture.First!.Value;
        double attentionError = Fixtures.RelativeL2(sparse.Invoke(call, q, k, v, AppliedAttention.Output),
            torch.matmul(AttentionKernels.Probabilities(q, k, call.Scale), v));
        output.WriteLine($"{config}: model output relative L2 to dense {error:E2}, attention output {attentionError:E2} ({q.dtype}), density {sparse.Density.Overall}");
        Assert.True(error <= 1e-14, $"relative L2 {error:E2}");
        Assert.True(attentionError <= 1e-14, $"attention relative L2 {attentionError:E2}");
        Assert.Equal(1.0, sparse.Density.Overall, 15);
        Assert.Equal((3, 0), (sparse.GatheredCalls, sparse.MaskedCalls));
    }

    [Theory]
    [InlineData(24, 8, 0.5)]  // 3 query tiles × 9 key blocks, 5 kept
    [InlineData(25, 10, 0.7)] // ragged last tile and key block, 3 of 8 kept
    [InlineData(8, 8, 0.85)]  // tiles equal to blocks, 2 of 9 kept
    public void At_lower_density_it_equals_a_naive_masked_reference(int queryTile, int keyBlock, double sparsity)
    {
        var (model, data) = Model();
        var sparse = new BlockTopKAttention(new BlockTopKSelection(keyBlock, queryTile, sparsity), new AttentionSelector { Sites = new[] { "self" } });
        var reference = new NaiveBlockTopK(queryTile, keyBlock, nk => nk - (int)Math.Floor(sparsity * nk), "self");
        var actual = Forward(model, data, sparse);
        var expected = Forward(model, data, reference);
        double error = Fixtures.RelativeL2(actual, expected);
        double fromDense = Fixtures.RelativeL2(actual, Forward(model, data));
        // the model's norms run in float32 (as diffusers'), so the outputs above agree to float32 resolution; the
        // attention outputs themselves are compared in float64 on the q, k, v of the first self-attention call
        var capture = new Capture();
        Forward(model, data, capture);
        var (call, q, k, v) = capture.First!.Value;
        double attentionError = Fixtures.RelativeL2(sparse.Invoke(call, q, k, v, AppliedAttention.Output),
            reference.Invoke(call, q, k, v, AppliedAttention.Output));
        output.WriteLine($"tiles {queryTile} over blocks {keyBlock}, sparsity {sparsity}: model output relative L2 {error:E2} (dense is {fromDense:E2} away), " +
                         $"attention output {attentionError:E2} ({q.dtype}), density {sparse.Density.Overall:F4}");
        Assert.True(error <= 1e-13, $"relative L2 {error:E2}");
        Assert.True(attentionError <= 1e-13, $"attention relative L2 {attentionError:E2}");
        Assert.True(fromDense > 1e-3, "the selection drops keys that matter");
        Assert.Equal(reference.KeptPairs / reference.TotalPairs, sparse.Density.Overall, 12); // both also ran the extra attention-level call
        Assert.Equal((3, 0), (sparse.GatheredCalls, sparse.MaskedCalls));
    }

    /// <summary>Passes every self-attention call on, keeping the first one's inputs.</summary>
    private sealed class Capture : IAttentionIntervention
    {
        public (AttentionCall Call, Tensor Q, Tensor K, Tensor V)? First { get; private set; }
        public bool Accepts(AttentionCall call) => call.Site.Kind == AttentionKind.Self;
        public Tensor Invoke(AttentionCall call, Tensor q, Tensor k, Tensor v, AttentionNext next)
        {
            First ??= (call, q.clone().DetachFromDisposeScope(), k.clone().DetachFromDisposeScope(), v.clone().DetachFromDisposeScope());
            return next(call, q, k, v);
        }
    }

    [Fact]
    public void Keep_blocks_and_the_masked_path_compute_the_same_function()
    {
        var (model, data) = Model();
        var gathered = new BlockTopKAttention(new BlockTopKSelection(8, 24, keepBlocks: 3), new AttentionSelector { Sites = new[] { "self" } });
        // listing every head makes the scope a head subset: the masked path runs the same selection
        var masked = new BlockTopKAttention(new BlockTopKSelection(8, 24, keepBlocks: 3), new AttentionSelector { Sites = new[] { "self" }, Heads = new long[] { 0, 1 } });
        var reference = new NaiveBlockTopK(24, 8, _ => 3, "self");
        var expected = Forward(model, data, reference);
        double gatherError = Fixtures.RelativeL2(Forward(model, data, gathered), expected);
        double maskedError = Fixtures.RelativeL2(Forward(model, data, masked), expected);
        output.WriteLine($"keep_blocks 3: gathered {gatherError:E2}, masked {maskedError:E2} against the naive reference");
        Assert.True(gatherError <= 1e-13 && maskedError <= 1e-13, $"{gatherError:E2} / {maskedError:E2}");
        Assert.Equal((2, 0, 0, 2), (gathered.GatheredCalls, gathered.MaskedCalls, masked.GatheredCalls, masked.MaskedCalls));
        Assert.Equal(gathered.Density.Overall, masked.Density.Overall, 12);
    }

    [Fact]
    public void Kept_sinks_run_through_the_masked_path_and_equal_the_dense_reference()
    {
        var c = new InterventionCase();
        var sparse = new BlockTopKAttention(new BlockTopKSelection(8, 16, 0.6), keepSinks: new long[] { 0, 30 });
        var actual = c.Run(sparse);
        var reference = c.Reference();
        var expected = reference.Attend(ReferenceRules.WithSinks(ReferenceRules.BlockTopK(c.Q, c.K, c.Scale, 8, 0.6, queryBlockSize: 16), 0, 30));
        Fixtures.AssertClose(actual, expected, 1e-13, "block_topk with sinks");
        Assert.Equal(reference.Kept / reference.Valid, sparse.Density.Of(c.Site.Name), 12);
        Assert.Equal((0, 1), (sparse.GatheredCalls, sparse.MaskedCalls));
    }

    [Fact]
    public void The_cli_sparsify_argument_takes_a_config_object_with_the_given_sites_as_default()
    {
        var scope = new AttentionSelector { Sites = new[] { "self" } };
        var built = Assert.IsType<BlockTopKAttention>(SparsifySpec.Parse("""{"type":"block_topk","sparsity":0.85,"block_size":120,"query_block_size":840}""", scope));
        Assert.Equal((120, 840, 0.85), (built.Selection.KeyBlockSize, built.Selection.QueryBlockSize, built.Selection.Sparsity));
        Assert.Equal(new[] { "self" }, built.Scope.Sites);
        var own = Assert.IsType<BlockTopKAttention>(SparsifySpec.Parse("""{"type":"block_topk","keep_blocks":4,"sites":["blocks.0.attn1"]}""", scope));
        Assert.Equal(new[] { "blocks.0.attn1" }, own.Scope.Sites);
        Assert.IsType<BlockTopKAttention>(SparsifySpec.Parse("block_topk:0.5", scope));
        Assert.Contains("not a sparsifier", Assert.Throws<VDiTLensException>(() => SparsifySpec.Parse("""{"type":"temperature","tau":2}""", scope)).Message);
        Assert.Contains("exactly one of 'sparsity' and 'keep_blocks'",
            Assert.Throws<VDiTLensException>(() => InterventionFactory.FromJson("""[{"type":"block_topk","sparsity":0.5,"keep_blocks":3}]""")).Message);
    }

    [Fact]
    public void Pooling_equals_float64_means_for_low_precision_input_without_a_converted_copy()
    {
        TorchRuntime.Initialise();
        using var g = new Generator(5);
        var x = torch.randn(new long[] { 2, 3, 45, 8 }, generator: g).to(ScalarType.BFloat16).transpose(1, 2).contiguous().transpose(1, 2); // non-contiguous, as q from [B, L, H, D]
        var pooled = BlockTopKSelection.Pool(x, 8);
        Assert.Equal(ScalarType.Float32, pooled.dtype);
        var exact = x.to(ScalarType.Float64);
        var blocks = Enumerable.Range(0, 6).Select(i => exact.narrow(2, i * 8, Math.Min(8, 45 - i * 8)).mean(new long[] { 2 }, keepdim: true)).ToArray();
        double error = Fixtures.RelativeL2(pooled.to(ScalarType.Float64), torch.cat(blocks, 2));
        output.WriteLine($"bf16 pooling with float32 sums: relative L2 {error:E2} to float64 means");
        Assert.True(error <= 1e-7, $"relative L2 {error:E2}");
    }
}
