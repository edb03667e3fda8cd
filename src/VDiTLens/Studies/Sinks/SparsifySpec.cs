using System.Globalization;
using VDiTLens.Interventions;
using VDiTLens.Interventions.Sparsity;

namespace VDiTLens.Studies.Sinks;

/// <summary>The CLI's short sparsification form <c>type:value</c>: bottom_k:SPARSITY, top_k:K or threshold:P.</summary>
public static class SparsifySpec
{
    public static SparseAttention Parse(string text, InterventionScope scope)
    {
        var parts = text.Split(':', 2);
        if (parts.Length != 2 || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
            throw new VDiTLensException($"--sparsify '{text}': expected type:value, e.g. bottom_k:0.5, top_k:64 or threshold:0.001");
        ISparsifier sparsifier = parts[0] switch
        {
            "bottom_k" => new BottomKSparsifier(value),
            "top_k" => new TopKSparsifier((long)value),
            "threshold" => new ThresholdSparsifier(value),
            _ => throw new VDiTLensException($"--sparsify '{text}': type '{parts[0]}' is not bottom_k, top_k or threshold"),
        };
        return new SparseAttention(sparsifier, scope);
    }
}
