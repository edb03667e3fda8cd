using VDiTLens.Models.Common;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VDiTLens.Models.Wan.Vae;

/// <summary>
/// diffusers' WanCausalConv3d: a Conv3d padded 2·p frames in the past and none in the future, so output frame t
/// sees only input frames ≤ t. Past frames come from the previous chunk's cache when there is one.
/// </summary>
public sealed class WanCausalConv3d : nn.Module<Tensor, Tensor>
{
    private readonly long[] _stride;
    private readonly long _padT, _padH, _padW;
    public Parameter weight;
    public Parameter bias;

    public WanCausalConv3d(long inChannels, long outChannels, (long T, long H, long W) kernel, Device device, ScalarType dtype,
        (long T, long H, long W)? stride = null, (long T, long H, long W)? padding = null) : base("WanCausalConv3d")
    {
        var s = stride ?? (1, 1, 1);
        var p = padding ?? (0, 0, 0);
        _stride = new[] { s.T, s.H, s.W };
        (_padT, _padH, _padW) = (2 * p.T, p.H, p.W);
        // PyTorch's Conv3d initialisation (kaiming_uniform with a = √5, and the bias alike): U(±1/√fan_in) for both,
        // so a model built without a checkpoint (benchmarks) has the random weights diffusers' would have.
        double bound = 1.0 / Math.Sqrt(inChannels * kernel.T * kernel.H * kernel.W);
        using (torch.no_grad())
        {
            register_parameter("weight", weight = new Parameter(torch.empty(new[] { outChannels, inChannels, kernel.T, kernel.H, kernel.W }, dtype, device).uniform_(-bound, bound)));
            register_parameter("bias", bias = new Parameter(torch.empty(outChannels, dtype: dtype, device: device).uniform_(-bound, bound)));
        }
    }

    /// <summary>Cubic kernel k with padding p on every side (the common case).</summary>
    public static WanCausalConv3d Cube(long inChannels, long outChannels, long k, long p, Device device, ScalarType dtype) =>
        new(inChannels, outChannels, (k, k, k), device, dtype, padding: (p, p, p));

    public override Tensor forward(Tensor x) => ForwardWithPast(x, null);

    /// <param name="past">Frames preceding x (from the cache), used in place of that many zero frames of padding.</param>
    public Tensor ForwardWithPast(Tensor x, Tensor? past)
    {
        using var scope = torch.NewDisposeScope();
        long padT = _padT;
        if (past is not null && padT > 0)
        {
            x = torch.cat(new[] { past.to(x.device), x }, 2);
            padT -= past.shape[2];
        }
        if (padT != 0 || _padH != 0 || _padW != 0)
            x = nn.functional.pad(x, new[] { _padW, _padW, _padH, _padH, padT, 0L });
        return CpuSafeConvolution.Conv3d(x, weight, bias, _stride).MoveToOuterDisposeScope();
    }

    /// <summary>One chunk through the conv with the cache slot it owns: the chunk's tail is cached for the next chunk.</summary>
    public Tensor Forward(Tensor x, WanCausalCache cache)
    {
        var slot = cache.Next();
        using var scope = torch.NewDisposeScope();
        var tail = slot.Tail(x);
        var y = ForwardWithPast(x, slot.Frames);
        slot.Replace(tail);
        return y.MoveToOuterDisposeScope();
    }
}
