using VDiTLens.Models.Common;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VDiTLens.Models.CogVideoX.Vae;

/// <summary>
/// diffusers' CogVideoXResnetBlock3D without time embedding (the VAE has none): (norm, SiLU, causal 3×3×3 conv)
/// twice plus a 1×1×1 Conv3d shortcut when channels change. The encoder's norms are GroupNorms; the decoder's are
/// <see cref="CogVideoXSpatialNorm3D"/> conditioned on the latents (<c>spatialNormDim</c> set).
/// </summary>
public sealed class CogVideoXResnetBlock3D : nn.Module
{
    public nn.Module norm1;
    public nn.Module norm2;
    public CogVideoXCausalConv3d conv1;
    public CogVideoXCausalConv3d conv2;
    public Conv3d? conv_shortcut;

    public CogVideoXResnetBlock3D(long inChannels, long outChannels, long groups, double eps, long? spatialNormDim, Device device, ScalarType dtype)
        : base("CogVideoXResnetBlock3D")
    {
        register_module("norm1", norm1 = Norm(inChannels, groups, eps, spatialNormDim, device, dtype));
        register_module("conv1", conv1 = new CogVideoXCausalConv3d(inChannels, outChannels, 3, device, dtype));
        register_module("norm2", norm2 = Norm(outChannels, groups, eps, spatialNormDim, device, dtype));
        register_module("conv2", conv2 = new CogVideoXCausalConv3d(outChannels, outChannels, 3, device, dtype));
        if (inChannels != outChannels)
            register_module("conv_shortcut", conv_shortcut = nn.Conv3d(inChannels, outChannels, (1, 1, 1), device: device, dtype: dtype));
    }

    private static nn.Module Norm(long channels, long groups, double eps, long? spatialNormDim, Device device, ScalarType dtype) =>
        spatialNormDim is { } zq
            ? new CogVideoXSpatialNorm3D(channels, zq, groups, device, dtype)
            : nn.GroupNorm(groups, channels, eps: eps, affine: true, device: device, dtype: dtype);

    /// <param name="zq">The batch's latents for the decoder's spatial norms; null in the encoder.</param>
    public Tensor Forward(Tensor x, Tensor? zq, CogVideoXConvCache cache)
    {
        using var scope = torch.NewDisposeScope();
        var h = nn.functional.silu(Normalize(norm1, x, zq, cache));
        h = conv1.Forward(h, cache);
        h = nn.functional.silu(Normalize(norm2, h, zq, cache));
        // dropout sits here in diffusers; inference only, so it is the identity
        h = conv2.Forward(h, cache);
        var shortcut = conv_shortcut is null ? x : CpuSafeConvolution.Conv3d(conv_shortcut, x);
        return (h + shortcut).MoveToOuterDisposeScope();
    }

    private static Tensor Normalize(nn.Module norm, Tensor x, Tensor? zq, CogVideoXConvCache cache) => norm switch
    {
        CogVideoXSpatialNorm3D spatial => spatial.Forward(x, zq ?? throw new InvalidOperationException("the decoder's spatial norm needs the latents"), cache),
        GroupNorm group => group.forward(x),
        _ => throw new InvalidOperationException($"unexpected norm {norm.GetType().Name}"),
    };
}
