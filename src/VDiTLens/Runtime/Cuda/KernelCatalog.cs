using static TorchSharp.torch;

namespace VDiTLens.Runtime.Cuda;

/// <summary>
/// Every kernel variant the launchers produce for the released models (Wan2.1 1.3B/14B, CogVideoX-5B, Mochi-1,
/// HunyuanVideo): each switch (type, norm, rotary layout, warp aggregation) over the row and head lengths of those
/// models. The compile tests build each one for sm_80 and sm_90 without a GPU.
/// </summary>
public static class KernelCatalog
{
    private static readonly ScalarType[] HalfTypes = { ScalarType.BFloat16, ScalarType.Float16 };

    // Wan2.1-1.3B (1536 = 12·128), Wan2.1-14B (5120 = 40·128); CogVideoX (3072 = 48·64), Mochi-1 and HunyuanVideo
    // (3072 = 24·128; Mochi's text stream 1536).
    private static readonly long[] WanDims = { 1536, 5120 };
    private static readonly long[] FamilyDims = { 1536, 3072 };
    private static readonly long[] HeadDims = { 64, 128 };

    public static IReadOnlyList<KernelVariant> All { get; } = Build().Distinct().ToArray();

    private static IEnumerable<KernelVariant> Build()
    {
        foreach (var t in HalfTypes)
        {
            foreach (long dim in WanDims.Concat(FamilyDims))
            {
                yield return FusedKernels.RowVariant("modulated_layer_norm", t, dim);
                yield return FusedKernels.GatedResidualVariant(t, dim);
            }
            foreach (long dim in WanDims) yield return FusedKernels.RmsNormRotaryVariant(t, dim, 128);
            foreach (long dim in FamilyDims) yield return FusedKernels.RowVariant("rms_modulate", t, dim);
            foreach (long headDim in HeadDims)
                foreach (var norm in Enum.GetValues<HeadNorm>())
                    foreach (var table in Enum.GetValues<RotaryTable>())
                        yield return FamilyKernels.HeadNormRotaryVariant(t, 3072, headDim, norm, table);
        }
        yield return CoverageKernel.Variant(aggregate: true);
        yield return CoverageKernel.Variant(aggregate: false);
        yield return RowSmallestKernel.Variant;
    }
}
