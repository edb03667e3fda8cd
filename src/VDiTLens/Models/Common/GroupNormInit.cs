using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Models.Common;

/// <summary>
/// TorchSharp's nn.GroupNorm built with a device/dtype leaves its affine parameters uninitialised (memory garbage, seen
/// at 1e14). PyTorch initialises them to weight 1, bias 0; this does the same, so randomly initialised models are usable.
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
