using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Interventions.Config;
using VDiTLens.Interventions.Sparsity;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Interventions.Sparsity;

public sealed class RandomKeySparsifierTests
{
    private static bool[,,,] Keep(ISparsifier sparsifier, InterventionCase c)
    {
        var logits = (torch.matmul(c.Q, c.K.transpose(-2, -1)) * c.Scale).masked_fill(c.Mask.logical_not(), double.NegativeInfinity);
        var rows = torch.arange(InterventionCase.Length, ScalarType.Int64);
        var keep = sparsifier.Begin(new SparsityInputs(new AttentionCall(c.Site, new AttentionRunState(), c.Scale, c.Layout, c.Layout, c.Mask), c.Q, c.K, c.V, c.Mask, new long[] { 0, 1, 2 }))(new QueryBlock(rows, logits))
            .expand_as(logits).contiguous();
        var flat = keep.data<bool>().ToArray();
        int B = (int)InterventionCase.Batch, H = (int)InterventionCase.Heads, L = (int)InterventionCase.Length;
        var result = new bool[B, H, L, L];
        for (int i = 0; i < flat.Length; i++) result[i / (H * L * L), i / (L * L) % H, i / L % L, i % L] = flat[i];
        return result;
    }

    [Theory]
    [InlineData(0.3)]
    [InlineData(0.7)]
    public void Drops_as_many_valid_keys_per_row_as_bottom_k_never_a_padded_one(double sparsity)
    {
        var c = new InterventionCase();
        var random = Keep(new RandomKeySparsifier(sparsity, seed: 5), c);
        var bottom = Keep(new BottomKSparsifier(sparsity), c);
        int differentRows = 0;
        for (int b = 0; b < InterventionCase.Batch; b++)
        for (int h = 0; h < InterventionCase.Heads; h++)
        for (int i = 0; i < InterventionCase.Length; i++)
        {
            int n = Enumerable.Range(0, (int)InterventionCase.Length).Count(j => InterventionCase.IsValid(b, j));
            int keptRandom = 0, keptBottom = 0;
            bool differs = false;
            for (int j = 0; j < InterventionCase.Length; j++)
            {
                if (!InterventionCase.IsValid(b, j)) continue; // padded keys are -inf whatever the mask says
                keptRandom += random[b, h, i, j] ? 1 : 0;
                keptBottom += bottom[b, h, i, j] ? 1 : 0;
                differs |= random[b, h, i, j] != bottom[b, h, i, j];
            }
            Assert.Equal(n - (int)Math.Floor(n * sparsity), keptRandom);
            Assert.Equal(keptBottom, keptRandom);
            if (differs) differentRows++;
        }
        Assert.True(differentRows > InterventionCase.Batch * InterventionCase.Heads * InterventionCase.Length / 2, $"random keys matched bottom-k's set in most rows ({differentRows} differ)");
    }

    [Fact]
    public void The_same_seed_drops_the_same_keys_and_another_seed_others()
    {
        var c = new InterventionCase();
        var a = c.Run(new SparseAttention(new RandomKeySparsifier(0.5, seed: 1)));
        var again = c.Run(new SparseAttention(new RandomKeySparsifier(0.5, seed: 1)));
        var other = c.Run(new SparseAttention(new RandomKeySparsifier(0.5, seed: 2)));
        Assert.Equal(0.0, a.sub(again).abs().max().item<double>());
        Assert.True(a.sub(other).abs().max().item<double>() > 1e-3);
        var fromConfig = InterventionFactory.FromJson("""[{"type":"random_k","sparsity":0.5,"seed":1}]""");
        Assert.Equal(0.0, a.sub(c.Run(fromConfig)).abs().max().item<double>());
    }
}
