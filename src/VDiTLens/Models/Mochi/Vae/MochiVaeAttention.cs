using VDiTLens.Attention;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VDiTLens.Models.Mochi.Vae;

/// <summary>
/// diffusers' Attention with MochiVaeAttnProcessor2_0 as the Mochi encoder builds it: causal self-attention along
/// time, one sequence per pixel ([pixels, T, C]), heads of 32 channels, q and k L2-normalised (eps 1e-5), scale
/// 1/√32, no q/k/v bias, through the VAE's attention seam with a causal mask. A single frame attends to its one key
/// (softmax 1, the output is v exactly, as diffusers' shortcut gives).
/// </summary>
public sealed class MochiVaeAttention : nn.Module<Tensor, Tensor>
{
    /// <summary>diffusers splits the pixel batch at 2^15 sequences (a CUDA launch limit); the split changes nothing numerically.</summary>
    private const long SequencesPerCall = 1L << 15;

    private readonly long _heads;
    private readonly AttentionSeam _seam;
    public AttentionSite Site { get; }
    public Linear to_q, to_k, to_v;
    public ModuleList<nn.Module> to_out;
    private Linear Output => (Linear)to_out[0];

    public MochiVaeAttention(long channels, AttentionSite site, AttentionSeam seam, Device device, ScalarType dtype) : base("Attention")
    {
        Site = site;
        _seam = seam;
        _heads = channels / MochiVaeConfig.GroupsAndHeadDim;
        register_module("to_q", to_q = nn.Linear(channels, channels, hasBias: false, device: device, dtype: dtype));
        register_module("to_k", to_k = nn.Linear(channels, channels, hasBias: false, device: device, dtype: dtype));
        register_module("to_v", to_v = nn.Linear(channels, channels, hasBias: false, device: device, dtype: dtype));
        register_module("to_out", to_out = new ModuleList<nn.Module>(
            nn.Linear(channels, channels, hasBias: true, device: device, dtype: dtype), nn.Dropout(0.0)));
    }

    /// <param name="x">[sequences, T, C]</param>
    public override Tensor forward(Tensor x)
    {
        if (x.shape[0] <= SequencesPerCall) return Attend(x);
        var parts = new List<Tensor>();
        try
        {
            for (long i = 0; i < x.shape[0]; i += SequencesPerCall)
                parts.Add(Attend(x.narrow(0, i, Math.Min(SequencesPerCall, x.shape[0] - i))));
            return torch.cat(parts, 0);
        }
        finally
        {
            foreach (var p in parts) p.Dispose();
        }
    }

    private Tensor Attend(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        long n = x.shape[0], t = x.shape[1], c = x.shape[2], d = c / _heads;
        Tensor Heads(Linear projection) => projection.forward(x).view(n, t, _heads, d).transpose(1, 2);
        var q = Normalize(Heads(to_q));
        var k = Normalize(Heads(to_k));
        var v = Heads(to_v);
        var causal = torch.ones(t, t, dtype: ScalarType.Bool, device: x.device).tril().view(1, 1, t, t);
        var layout = TokenLayout.Video(new VideoGrid((int)t, 1, 1));
        var o = _seam.Attend(Site, q, k, v, layout, layout, causal, 1.0 / Math.Sqrt(d));
        return Output.forward(o.transpose(1, 2).reshape(n, t, c)).MoveToOuterDisposeScope();
    }

    /// <summary>torch.nn.functional.normalize(p=2, dim=-1, eps=1e-5): x / max(‖x‖, eps).</summary>
    private static Tensor Normalize(Tensor x) => x / x.norm(-1, keepdim: true).clamp_min(1e-5);
}
