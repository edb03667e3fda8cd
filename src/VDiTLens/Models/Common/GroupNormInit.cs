using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Models.Common;

/// <summary>
/// TorchSharp's nn.GroupNorm built with a device/dtype leaves its affine parameters uninitialised (memory garbage, seen
/// up to 1e29). PyTorch initialises them to weight 1, bias 0; the VAEs that build group norms (CogVideoX, Mochi-1,
/// HunyuanVideo) call this at the end of their constructors, so random-weight builds are usable; loading overwrites them.
/// </summary>
public static class GroupNormInit
{
    public static void Reset(nn.Module root)
    {
        using var _ = torch.no_grad();
        foreach (var module in root.modules())
        {
            if (module is not TorchSharp.Modules.GroupNorm norm) continue;
            norm.weight?.fill_(1.0);
            norm.bias?.zero_();
        }
    }
}
