using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VDiTLens.Pipelines;

/// <summary>
/// PyTorch's initial group-norm affine parameters (weight 1, bias 0) for freshly built modules: TorchSharp's
/// <c>nn.GroupNorm</c> built with a device and dtype leaves them uninitialised (garbage up to 1e29 was seen), which
/// only matters for random-weight pipelines, since loading overwrites them.
/// </summary>
internal static class NormDefaults
{
    public static T Reset<T>(T module) where T : nn.Module
    {
        using var _ = torch.no_grad();
        foreach (var (_, child) in module.named_modules())
            if (child is GroupNorm norm)
            {
                norm.weight?.fill_(1.0);
                norm.bias?.zero_();
            }
        return module;
    }
}
