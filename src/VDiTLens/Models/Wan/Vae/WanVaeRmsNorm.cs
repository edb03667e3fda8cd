using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VDiTLens.Models.Wan.Vae;

/// <summary>
/// diffusers' WanRMS_norm: L2-normalises over the channel dimension (dim 1), times √C and a gain <c>gamma</c>
/// shaped [C, 1, 1, 1] for videos or [C, 1, 1] for images. Half-precision inputs are normalised in float32.
/// </summary>
public sealed class WanVaeRmsNorm : nn.Module<Tensor, Tensor>
{
    private readonly double _scale;
    public Parameter gamma;

    public WanVaeRmsNorm(long dim, bool images, Device device, ScalarType dtype) : base("WanRMS_norm")
    {
        _scale = Math.Sqrt(dim);
        long[] shape = images ? new[] { dim, 1L, 1L } : new[] { dim, 1L, 1L, 1L };
        register_parameter("gamma", gamma = new Parameter(torch.ones(shape, dtype: dtype, device: device)));
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        bool half = x.dtype is ScalarType.Float16 or ScalarType.BFloat16;
        var h = half ? x.to(ScalarType.Float32) : x;
        // F.normalize: x / max(‖x‖₂, 1e-12)
        var normalized = (h / h.norm(1, keepdim: true).clamp_min(1e-12)).to(x.dtype);
        return (normalized * _scale * gamma).MoveToOuterDisposeScope();
    }
}
