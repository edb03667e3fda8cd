using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Metrics;

/// <summary>‖test − reference‖₂ / ‖reference‖₂ in float64 (0 when both are zero; +∞ when only the reference is).</summary>
public static class RelativeL2
{
    public static double Of(Tensor reference, Tensor test)
    {
        Shapes.CheckSame(reference, test, "relative L2");
        using var scope = torch.NewDisposeScope();
        var r = reference.to(ScalarType.Float64).cpu();
        double diff = (test.to(ScalarType.Float64).cpu() - r).norm().item<double>();
        double norm = r.norm().item<double>();
        return norm > 0 ? diff / norm : diff == 0 ? 0 : double.PositiveInfinity;
    }
}
