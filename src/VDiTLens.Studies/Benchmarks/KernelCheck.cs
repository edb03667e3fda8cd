using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Interventions.Sparsity;
using VDiTLens.Models.Common;
using VDiTLens.Models.Wan;
using VDiTLens.Probes;
using VDiTLens.Runtime;
using VDiTLens.Runtime.Cuda;
using static TorchSharp.torch;

namespace VDiTLens.Benchmarks;

/// <summary>
/// One kernel check: the path the callers take (the kernel, or its reference when the kernel cannot run) against the
/// reference path on the same inputs. Path: <c>kernel</c>, <c>reference (fallback)</c> (the variant failed on the
/// device), or <c>reference</c> (the call does not qualify: CPU, float32, VDITLENS_FUSED=0, no NVRTC).
/// </summary>
public sealed record KernelCheckResult(string Check, string Variant, string Path, double MaxAbs, double MaxRel, double RelativeL2, bool Pass);

/// <summary>
/// Every kernel against its reference path, in bfloat16 and float16, on small inputs of the released models' widths.
/// A kernel result passes when max |Δ| / max |reference| ≤ 2⁻⁶ (a few 16-bit roundings) and the relative L2 error is
/// ≤ 10⁻²; coverage counts when no count differs by more than one key. A reference result passes only when it equals
/// the reference exactly and the kernel was not expected to run (on CUDA with kernels available, a fallback that
/// VDITLENS_FAIL_KERNEL did not ask for fails).
/// </summary>
public static class KernelCheck
{
    private const double MaxRelTolerance = 1.0 / 64, RelativeL2Tolerance = 1e-2;

    public static IReadOnlyList<KernelCheckResult> Run(ComputeOptions options)
    {
        var list = new List<KernelCheckResult>();
        foreach (var dtype in new[] { ScalarType.BFloat16, ScalarType.Float16 })
        {
            options.ApplySeed();
            Wan(options.Device, dtype, list);
            Family(options.Device, dtype, list);
        }
        options.ApplySeed();
        Coverage(options.Device, list);
        options.ApplySeed();
        Selection(options.Device, list);
        return list;
    }

    private static void Wan(Device device, ScalarType dtype, List<KernelCheckResult> list)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        const long dim = 1536, heads = 12, headDim = 128;
        var grid = new VideoGrid(2, 6, 8);
        using var plain = new Fp32LayerNorm(dim, 1e-6, false, device, ScalarType.Float32);
        using var affine = new Fp32LayerNorm(dim, 1e-6, true, device, ScalarType.Float32);
        using var rms = new RmsNorm(dim, 1e-6, device, dtype);
        affine.weight!.copy_(torch.randn(dim, device: device) * 0.1 + 1);
        affine.bias!.copy_(torch.randn(dim, device: device) * 0.1);
        rms.weight!.copy_(torch.randn(dim, device: device) * 0.1 + 1);
        var rotary = new WanRotaryEmbedding((int)headDim, 1024, device).Tables(grid);
        Tensor Random(params long[] shape) => torch.randn(shape, device: device).to(dtype);
        Tensor Modulation() => torch.randn(new long[] { 2, 1, dim }, device: device) * 0.2;
        var x = Random(2, grid.Count, dim);
        var y = Random(2, grid.Count, dim);
        var (scale, shift, gate) = (Modulation(), Modulation(), Modulation());
        var row = FusedKernels.RowVariant("modulated_layer_norm", dtype, dim);
        list.Add(Compare("Wan modulated LayerNorm (norm1/norm3)", row, x,
            () => WanElementwise.ModulatedNorm(plain, x, scale, shift), () => WanElementwise.ModulatedNormReference(plain, x, scale, shift)));
        list.Add(Compare("Wan affine LayerNorm (norm2)", row, x,
            () => WanElementwise.ModulatedNorm(affine, x, null, null), () => WanElementwise.ModulatedNormReference(affine, x, null, null)));
        list.Add(Compare("Wan gated residual", FusedKernels.GatedResidualVariant(dtype, dim), x,
            () => WanElementwise.GatedResidual(x, y, gate, true), () => WanElementwise.GatedResidualReference(x, y, gate, true)));
        var q = x * 3;
        var rotaryVariant = FusedKernels.RmsNormRotaryVariant(dtype, dim, headDim);
        list.Add(Compare("Wan RmsNorm + rotary (q/k)", rotaryVariant, q,
            () => WanElementwise.NormRotary(rms, q, heads, rotary), () => WanElementwise.NormRotaryReference(rms, q, heads, rotary)));
        list.Add(Compare("Wan RmsNorm (text keys)", rotaryVariant, q,
            () => WanElementwise.NormRotary(rms, q, heads, null), () => WanElementwise.NormRotaryReference(rms, q, heads, null)));
    }

    private static void Family(Device device, ScalarType dtype, List<KernelCheckResult> list)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        const long dim = 3072, length = 40;
        var x = torch.randn(new long[] { 2, length, dim }, device: device).to(dtype);
        // (model, head dim, norm, table, rotated rows [start, start + count), bias)
        var cases = new (string Model, long HeadDim, HeadNorm Norm, RotaryTable Table, long Start, long Count, bool Bias)[]
        {
            ("CogVideoX", 64, HeadNorm.Layer, RotaryTable.PerElement, 8, 32, true),
            ("CogVideoX text", 64, HeadNorm.Layer, RotaryTable.None, 0, 0, true),
            ("Mochi-1", 128, HeadNorm.Rms, RotaryTable.PerHeadPair, 0, length, false),
            ("HunyuanVideo", 128, HeadNorm.Rms, RotaryTable.PerElement, 0, 32, false),
        };
        foreach (var c in cases)
        {
            long heads = dim / c.HeadDim;
            var w = torch.randn(c.HeadDim, device: device) * 0.1 + 1;
            var b = c.Bias ? torch.randn(c.HeadDim, device: device) * 0.1 : null;
            (Tensor Cos, Tensor Sin)? tables = c.Table switch
            {
                RotaryTable.PerElement => RotaryTables(device, c.Count, c.HeadDim),
                RotaryTable.PerHeadPair => RotaryTables(device, c.Count, heads, c.HeadDim / 2),
                _ => null,
            };
            var variant = FamilyKernels.HeadNormRotaryVariant(dtype, dim, c.HeadDim, c.Norm, tables is null ? RotaryTable.None : c.Table);
            Tensor Reference() => HeadNormRotaryReference(x, c.HeadDim, c.Norm, w, b, 1e-6, c.Table, tables, c.Start, c.Count);
            list.Add(Compare($"{c.Model} q/k {c.Norm} norm + rotary ({c.Table})", variant, x,
                () => FusedOrReference.HeadNormRotary(x, c.HeadDim, c.Norm, w, b, 1e-6, c.Table, tables, c.Start, c.Count, Reference), Reference));
        }
        var y = torch.randn(new long[] { 2, length, dim }, device: device).to(dtype);
        var scale = torch.randn(new long[] { 2, dim }, device: device) * 0.2 + 1;
        var modulate = FusedKernels.RowVariant("rms_modulate", dtype, dim);
        Tensor Modulated(Tensor? residual) =>
            ((residual?.to(ScalarType.Float32) ?? torch.zeros(1, device: device)) + RmsFloat32(y, 1e-6) * scale.unsqueeze(1)).to(dtype);
        list.Add(Compare("Mochi-1 RMS modulation (norm1)", modulate, y,
            () => FusedOrReference.RmsModulate(null, y, scale, 1e-6, () => Modulated(null)), () => Modulated(null)));
        list.Add(Compare("Mochi-1 residual + RMS modulation", modulate, y,
            () => FusedOrReference.RmsModulate(x, y, scale, 1e-6, () => Modulated(x)), () => Modulated(x)));
    }

    private static void Coverage(Device device, List<KernelCheckResult> list)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var logits = torch.randn(new long[] { 2, 3, 64, 4096 }, device: device) * 4;
        logits[0, 1, 5, TensorIndex.Slice(0, 1000)] = torch.tensor(float.NegativeInfinity); // masked keys
        var bySort = new TopKCoverage { UseKernel = false }.Counts(logits, 0.088);
        // The launcher aggregates only from sm_70 on; elsewhere both rows use the AGGREGATE=0 variant.
        bool sm70 = Qualifies(logits) && CudaDriver.ComputeCapability(KernelCache.DeviceOf(logits)).Major >= 7;
        foreach (bool aggregate in new[] { true, false })
        {
            bool was = CoverageKernel.WarpAggregation;
            CoverageKernel.WarpAggregation = aggregate;
            try
            {
                var counts = new TopKCoverage().Counts(logits, 0.088);
                var variant = CoverageKernel.Variant(aggregate && (sm70 || !Qualifies(logits)));
                list.Add(Result($"top-k coverage counts vs sort{(aggregate ? "" : ", no warp aggregation")}", variant, logits, counts, bySort, countTolerance: true));
            }
            finally
            {
                CoverageKernel.WarpAggregation = was;
            }
        }
    }

    /// <summary>Bottom-m masks on rows with many ties (few distinct levels, −1 padding, −0 and +0), m from 0 to n: exact.</summary>
    private static void Selection(Device device, List<KernelCheckResult> list)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        const long n = 4133;
        var values = torch.randint(0, 5, new long[] { 3, 4, 64, n }, device: device).to(ScalarType.Float32) / 7.0;
        values[0] = torch.rand(new long[] { 4, 64, n }, device: device); // distinct values
        values[1, 0, TensorIndex.Slice(0, 32), TensorIndex.Slice(0, 1000)] = torch.tensor(-1f);
        values[1, 1] = values[1, 1].neg(); // −0 among +0
        var m = torch.randint(0, n + 1, new long[] { 3, 4, 64, 1 }, device: device);
        m[2, 0, 0, 0] = torch.tensor(0L);
        m[2, 0, 1, 0] = torch.tensor(n);
        var expected = RowRanks.Of(values, descending: false) < m; // the first m of a stable ascending sort
        var actual = RowSelection.Smallest(values, m);
        list.Add(Result("bottom-m selection mask vs stable sort (ties)", RowSmallestKernel.Variant, values, actual, expected, countTolerance: false, exact: true));
    }

    private static KernelCheckResult Compare(string check, KernelVariant variant, Tensor input, Func<Tensor> callers, Func<Tensor> reference)
    {
        using var scope = torch.NewDisposeScope();
        var expected = reference();
        using (torch.full_like(expected, double.NaN)) { } // a kernel that skips outputs leaves NaN, not a stale copy
        var actual = callers();
        return Result(check, variant, input, actual, expected, countTolerance: false);
    }

    private static KernelCheckResult Result(string check, KernelVariant variant, Tensor input, Tensor actual, Tensor expected, bool countTolerance, bool exact = false)
    {
        using var scope = torch.NewDisposeScope();
        var a = actual.to(ScalarType.Float64);
        var e = expected.to(ScalarType.Float64);
        double maxAbs = (a - e).abs().max().item<double>();
        double maxRel = maxAbs / e.abs().max().item<double>();
        double l2 = ((a - e).norm() / e.norm()).item<double>();
        string path = PathOf(variant, input);
        bool pass = path == "kernel"
            ? exact ? maxAbs == 0 : (countTolerance ? maxAbs <= 1 && l2 <= 1e-3 : maxRel <= MaxRelTolerance && l2 <= RelativeL2Tolerance)
            : maxAbs == 0 && !KernelExpected(variant, input);
        return new KernelCheckResult(check, variant.ToString(), path, maxAbs, maxRel, l2, pass);
    }

    private static string PathOf(KernelVariant variant, Tensor input)
    {
        if (!Qualifies(input)) return "reference";
        int device = KernelCache.DeviceOf(input);
        return KernelCache.Failures.Any(f => f.Device == device && f.Variant == variant.ToString()) ? "reference (fallback)" : "kernel";
    }

    private static bool Qualifies(Tensor input) =>
        FusedKernels.Enabled && input.device.type == DeviceType.CUDA && KernelCache.Unavailable(KernelCache.DeviceOf(input)) is null;

    private static bool KernelExpected(KernelVariant variant, Tensor input) => Qualifies(input) && !KernelCompiler.ForcedToFail(variant.Kernel);

    private static (Tensor Cos, Tensor Sin) RotaryTables(Device device, params long[] shape)
    {
        var angle = torch.rand(shape, device: device) * (2 * Math.PI);
        return (angle.cos(), angle.sin());
    }

    private static Tensor RmsFloat32(Tensor x, double eps)
    {
        var f = x.to(ScalarType.Float32);
        return f * torch.rsqrt(f.pow(2).mean(new long[] { -1 }, keepdim: true) + eps);
    }

    /// <summary>
    /// The per-head norm and rotary of <c>head_norm_rotary.cu</c> in float32 TorchSharp ops, rounded once to x's type:
    /// the same math as the models' reference closures (CogVideoX, Mochi-1, HunyuanVideo), without their 16-bit steps.
    /// </summary>
    private static Tensor HeadNormRotaryReference(Tensor x, long headDim, HeadNorm norm, Tensor w, Tensor? b, double eps,
        RotaryTable table, (Tensor Cos, Tensor Sin)? tables, long start, long count)
    {
        using var scope = torch.NewDisposeScope();
        long batch = x.shape[0], length = x.shape[1], heads = x.shape[2] / headDim;
        var v = x.to(ScalarType.Float32).view(batch, length, heads, headDim);
        var centred = norm == HeadNorm.Layer ? v - v.mean(new long[] { -1 }, keepdim: true) : v;
        var y = centred * torch.rsqrt(centred.pow(2).mean(new long[] { -1 }, keepdim: true) + eps) * w;
        if (b is not null) y = y + b;
        if (tables is { } t && count > 0)
        {
            var pairs = y.narrow(1, start, count).unflatten(3, new long[] { headDim / 2, 2 });
            var (e, o) = (pairs.select(-1, 0), pairs.select(-1, 1));
            Tensor even, odd;
            if (table == RotaryTable.PerElement)
            {
                var c = t.Cos.unflatten(1, new long[] { headDim / 2, 2 }).unsqueeze(1); // [count, 1, D/2, 2]
                var s = t.Sin.unflatten(1, new long[] { headDim / 2, 2 }).unsqueeze(1);
                even = e * c.select(-1, 0) - o * s.select(-1, 0);
                odd = o * c.select(-1, 1) + e * s.select(-1, 1);
            }
            else
            {
                even = e * t.Cos - o * t.Sin;
                odd = e * t.Sin + o * t.Cos;
            }
            var rotated = torch.stack(new[] { even, odd }, -1).flatten(-2);
            y = torch.cat(new[] { y.narrow(1, 0, start), rotated, y.narrow(1, start + count, length - start - count) }, 1);
        }
        return y.to(x.dtype).reshape(batch, length, -1).MoveToOuterDisposeScope();
    }
}
