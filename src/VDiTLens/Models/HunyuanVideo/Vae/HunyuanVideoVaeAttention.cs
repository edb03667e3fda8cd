using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Attention;
using VDiTLens.Models.Common;
using static TorchSharp.torch;

namespace VDiTLens.Models.HunyuanVideo.Vae;

/// <summary>
/// The mid-block attention (diffusers' Attention with one head of all channels, group norm and a residual) over
/// all T·H·W positions, through the VAE's seam with a causal frame mask: a position sees every position of its
/// own and earlier frames.
/// </summary>
public sealed class HunyuanVideoVaeAttention : nn.Module<Tensor, Tensor>
{
    private readonly AttentionSeam _seam;
    public AttentionSite Site { get; }
    public GroupNorm group_norm;
    public Linear to_q, to_k, to_v;
    public ModuleList<nn.Module> to_out;
    private Linear Output => (Linear)to_out[0];

    public HunyuanVideoVaeAttention(long channels, int groups, AttentionSite site, AttentionSeam seam, Device device, ScalarType dtype) : base("Attention")
    {
        _seam = seam;
        Site = site;
        register_module("group_norm", group_norm = nn.GroupNorm(groups, channels, HunyuanVideoResnetBlock.Eps, affine: true, device: device, dtype: dtype));
        register_module("to_q", to_q = Layers.Linear(channels, channels, device, dtype));
        register_module("to_k", to_k = Layers.Linear(channels, channels, device, dtype));
        register_module("to_v", to_v = Layers.Linear(channels, channels, device, dtype));
        to_out = new ModuleList<nn.Module>(Layers.Linear(channels, channels, device, dtype), nn.Dropout(0.0));
        register_module("to_out", to_out);
    }

    /// <summary>bool [1, 1, N, N] over tokens ordered (frame, y, x): true where the key's frame ≤ the query's frame.</summary>
    public static Tensor CausalFrameMask(long frames, long perFrame, Device device)
    {
        using var scope = torch.NewDisposeScope();
        var frame = torch.arange(frames, dtype: ScalarType.Int64, device: device).repeat_interleave(perFrame);
        return frame.unsqueeze(0).le(frame.unsqueeze(1)).view(1, 1, frames * perFrame, frames * perFrame).MoveToOuterDisposeScope();
    }

    /// <param name="x">[B, C, T, H, W]</param>
    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        long b = x.shape[0], c = x.shape[1], t = x.shape[2], h = x.shape[3], w = x.shape[4];
        // Group norm of the flattened [B, C, N] tokens has the same statistics as of the [B, C, T, H, W] volume.
        var tokens = group_norm.forward(x).view(b, c, t * h * w).transpose(1, 2);
        var q = to_q.forward(tokens).unsqueeze(1);
        var k = to_k.forward(tokens).unsqueeze(1);
        var v = to_v.forward(tokens).unsqueeze(1);
        var layout = TokenLayout.Video(new VideoGrid((int)t, (int)h, (int)w));
        var mask = CausalFrameMask(t, h * w, x.device);
        var attended = _seam.Attend(Site, q, k, v, layout, layout, mask, 1.0 / Math.Sqrt(c));
        var y = Output.forward(attended.squeeze(1)).transpose(1, 2).reshape(b, c, t, h, w);
        return (y + x).MoveToOuterDisposeScope();
    }
}
