using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Interventions;

/// <summary>
/// A small joint-attention call: [text(5), video(3×4×4)] tokens, 2 batch rows, 3 heads, head_dim 8, with the last
/// 2 text keys of batch row 1 padded out by a bool mask [B, 1, 1, L].
/// </summary>
internal sealed class InterventionCase
{
    public static readonly VideoGrid Grid = new(3, 4, 4);
    public const int TextLength = 5, PaddedText = 2;
    public const long Batch = 2, Heads = 3, HeadDim = 8;
    public static long Length => TextLength + Grid.Count;

    public Tensor Q { get; }
    public Tensor K { get; }
    public Tensor V { get; }
    public Tensor Mask { get; }
    public TokenLayout Layout { get; }
    public AttentionSite Site { get; } = new("blocks.2.attn1", 2, AttentionKind.Joint, "attn.2.joint");
    public double Scale => 1 / Math.Sqrt(HeadDim);

    public InterventionCase(ScalarType dtype = ScalarType.Float64, int seed = 7, double spread = 2.0)
    {
        TorchRuntime.Initialise();
        torch.manual_seed(seed);
        Q = torch.randn(new[] { Batch, Heads, Length, HeadDim }, dtype: dtype) * spread;
        K = torch.randn(new[] { Batch, Heads, Length, HeadDim }, dtype: dtype) * spread;
        V = torch.randn(new[] { Batch, Heads, Length, HeadDim }, dtype: dtype);
        var valid = torch.ones(Batch, Length, dtype: ScalarType.Bool);
        valid[1, TensorIndex.Slice(TextLength - PaddedText, TextLength)] = torch.tensor(false);
        Mask = valid.view(Batch, 1, 1, Length);
        Layout = TokenLayout.Concat(valid, TokenLayout.Text(TextLength), TokenLayout.Video(Grid));
    }

    public static bool IsValid(int b, int j) => !(b == 1 && j >= TextLength - PaddedText && j < TextLength);

    public DenseReference Reference(Tensor? q = null, Tensor? k = null, Tensor? v = null) =>
        DenseReference.Of(q ?? Q, k ?? K, v ?? V, Scale, IsValid);

    /// <summary>Runs the call through a seam with the interventions attached, at the given step and branch.</summary>
    public Tensor Run(IEnumerable<IAttentionIntervention> interventions, int step = -1, string branch = "cond",
        Tensor? q = null, Tensor? k = null, Tensor? v = null, Tensor? mask = null, AttentionSite? site = null)
    {
        var seam = new AttentionSeam();
        seam.State.Step = step;
        seam.State.Branch = branch;
        foreach (var i in interventions) seam.Attach(i);
        return seam.Attend(site ?? Site, q ?? Q, k ?? K, v ?? V, Layout, Layout, mask ?? Mask, Scale);
    }

    public Tensor Run(IAttentionIntervention intervention, int step = -1, string branch = "cond") => Run(new[] { intervention }, step, branch);

    public Tensor Dense(Tensor? q = null, Tensor? k = null, Tensor? v = null) => AttentionKernels.Sdpa(q ?? Q, k ?? K, v ?? V, Scale, Mask);

    /// <summary>(frame, y, x) of a position, or null for text.</summary>
    public static (int F, int Y, int X)? Coordinates(int position)
    {
        if (position < TextLength) return null;
        int i = position - TextLength, hw = Grid.Height * Grid.Width;
        return (i / hw, i % hw / Grid.Width, i % Grid.Width);
    }
}
