using System.Diagnostics;
using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Models.Common;
using VDiTLens.Models.Wan;
using VDiTLens.Runtime;
using VDiTLens.Runtime.Cuda;
using static TorchSharp.torch;

namespace VDiTLens.Benchmarks;

public sealed record StageTiming(string Stage, string Path, double MedianMs, double GigabytesMoved);

public sealed record FusedCheck(string Op, double RelativeError, bool AllWritten);

/// <summary>
/// Times each element-wise stage of one Wan block at full shape, unfused (the TorchSharp reference chains)
/// and fused (the CUDA kernels), and checks every fused op against its reference on fresh random inputs.
/// </summary>
public sealed class ElementwiseBenchmark : IDisposable
{
    private readonly Device _device;
    private readonly ScalarType _dtype;
    private readonly long _tokens, _dim, _heads, _headDim, _ffn, _text;
    private readonly VideoGrid _grid;
    private readonly Fp32LayerNorm _plainNorm, _affineNorm;
    private readonly RmsNorm _rms;
    private readonly WanRotaryEmbedding _rope;

    public ElementwiseBenchmark(WanConfig config, ComputeOptions options, VideoGrid grid, long textTokens)
    {
        _device = options.Device;
        _dtype = options.DType;
        _grid = grid;
        _tokens = grid.Count;
        _dim = config.InnerDim;
        _heads = config.num_attention_heads;
        _headDim = config.attention_head_dim;
        _ffn = config.ffn_dim;
        _text = textTokens;
        var keep = WanTransformer3DModel.KeepDtype(_dtype);
        _plainNorm = new Fp32LayerNorm(_dim, config.eps, false, _device, keep);
        _affineNorm = new Fp32LayerNorm(_dim, config.eps, true, _device, keep);
        _rms = new RmsNorm(_dim, config.eps, _device, _dtype);
        using (torch.no_grad())
        {
            _affineNorm.weight!.copy_(torch.randn(_dim, dtype: keep, device: _device) * 0.1 + 1);
            _affineNorm.bias!.copy_(torch.randn(_dim, dtype: keep, device: _device) * 0.1);
            _rms.weight!.copy_(torch.randn(_dim, dtype: _dtype, device: _device) * 0.1 + 1);
        }
        _rope = new WanRotaryEmbedding((int)_headDim, config.rope_max_seq_len, _device);
    }

    /// <summary>The released Wan2.1 transformer shapes (config.json values) this benchmark knows by name.</summary>
    public static WanConfig Preset(string name) => name switch
    {
        "wan-1.3b" => new WanConfig { num_attention_heads = 12, attention_head_dim = 128, ffn_dim = 8960, num_layers = 30 },
        "wan-14b" => new WanConfig { num_attention_heads = 40, attention_head_dim = 128, ffn_dim = 13824, num_layers = 40 },
        _ => throw new VDiTLensException($"unknown preset '{name}' (use wan-1.3b or wan-14b)"),
    };

    public IReadOnlyList<StageTiming> Time(int repeats, int callsPerRepeat)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var x = Random(1, _tokens, _dim);
        var y = Random(1, _tokens, _dim);
        var (scale, shift, gate) = (Modulation(), Modulation(), Modulation());
        var rotary = _rope.Tables(_grid);
        var q4 = x.unflatten(2, new long[] { _heads, _headDim });
        var hidden = Random(_tokens, _ffn);
        double bf = ElementBytes(_dtype), f32 = 4;
        double n = _tokens * _dim, nf = _tokens * _ffn;
        var list = new List<StageTiming>();
        void Add(string stage, string path, double bytes, Func<Tensor> run) =>
            list.Add(new StageTiming(stage, path, PerCall(repeats, callsPerRepeat, run), bytes / 1e9));

        Add("copy (bandwidth baseline)", "clone", n * bf * 2, () => x.clone());
        Add("cast 16-bit → float32", "to(float32)", n * (bf + f32), () => x.to(ScalarType.Float32));
        Add("cast float32 → 16-bit", "to(dtype)", n * (bf + f32), () => y.to(ScalarType.Float32).to(_dtype));
        Add("layer_norm float32", "functional", n * f32 * 2, () => _plainNorm.forward(x.to(ScalarType.Float32)));
        Add("modulated LayerNorm (norm1/norm3)", "unfused", n * bf * 2, () => WanElementwise.ModulatedNormReference(_plainNorm, x, scale, shift));
        Add("modulated LayerNorm (norm1/norm3)", "fused", n * bf * 2, () => WanElementwise.ModulatedNorm(_plainNorm, x, scale, shift));
        Add("affine LayerNorm (norm2)", "unfused", n * bf * 2, () => WanElementwise.ModulatedNormReference(_affineNorm, x, null, null));
        Add("affine LayerNorm (norm2)", "fused", n * bf * 2, () => WanElementwise.ModulatedNorm(_affineNorm, x, null, null));
        Add("RmsNorm (q or k)", "unfused", n * bf * 2, () => _rms.forward(x));
        Add("rotary Apply (q or k)", "unfused", n * bf * 2, () => WanRotaryEmbedding.Apply(q4, rotary.Cos, rotary.Sin));
        Add("RmsNorm + rotary (q or k)", "unfused", n * bf * 2, () => WanElementwise.NormRotaryReference(_rms, x, _heads, rotary));
        Add("RmsNorm + rotary (q or k)", "fused", n * bf * 2, () => WanElementwise.NormRotary(_rms, x, _heads, rotary));
        Add("RmsNorm, no rotary (cross q)", "fused", n * bf * 2, () => WanElementwise.NormRotary(_rms, x, _heads, null));
        Add("gated residual (attn)", "unfused", n * bf * 3, () => WanElementwise.GatedResidualReference(x, y, gate, false));
        Add("gated residual (ffn)", "unfused", n * bf * 3, () => WanElementwise.GatedResidualReference(x, y, gate, true));
        Add("gated residual", "fused", n * bf * 3, () => WanElementwise.GatedResidual(x, y, gate, true));
        Add("plain residual x + y (cross)", "add", n * bf * 3, () => x + y);
        Add("GELU tanh [tokens, ffn]", "eight-op chain", nf * bf * 2, () => ManualGeluTanh(hidden));
        Add("GELU tanh [tokens, ffn]", "libtorch gelu(tanh)", nf * bf * 2, () => hidden.gelu(TorchSharp.Modules.GELU.Approximate.tanh));

        // Around SDPA: q/k/v as [B, L, H, D] views transposed (diffusers' layout) vs contiguous [B, H, L, D].
        var qView = x.unflatten(2, new long[] { _heads, _headDim }).transpose(1, 2);
        var kView = y.unflatten(2, new long[] { _heads, _headDim }).transpose(1, 2);
        var qc = qView.contiguous();
        var kc = kView.contiguous();
        var outView = AttentionKernels.Sdpa(qView, kView, kView, 1.0 / Math.Sqrt(_headDim));
        var outContig = AttentionKernels.Sdpa(qc, kc, kc, 1.0 / Math.Sqrt(_headDim));
        Add($"merge heads, SDPA on views (out [B,L,H,D] layout: {outView.transpose(1, 2).is_contiguous()})", "transpose+flatten", n * bf * 2, () => outView.transpose(1, 2).flatten(2, 3));
        Add($"merge heads, SDPA on contiguous (out [B,L,H,D] layout: {outContig.transpose(1, 2).is_contiguous()})", "transpose+flatten", n * bf * 2, () => outContig.transpose(1, 2).flatten(2, 3));
        list.Add(new StageTiming("self-attention SDPA", "inputs [B,L,H,D] views", PerCall(repeats, 1, () => AttentionKernels.Sdpa(qView, kView, kView, 1.0 / Math.Sqrt(_headDim))), 0));
        list.Add(new StageTiming("self-attention SDPA", "inputs contiguous [B,H,L,D]", PerCall(repeats, 1, () => AttentionKernels.Sdpa(qc, kc, kc, 1.0 / Math.Sqrt(_headDim))), 0));
        return list;
    }

    /// <summary>Each fused op against its reference, on fresh random inputs, outputs poisoned beforehand.</summary>
    public IReadOnlyList<FusedCheck> Check()
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var list = new List<FusedCheck>();
        var (scale, shift, gate) = (Modulation(), Modulation(), Modulation());
        var rotary = _rope.Tables(_grid);
        void Compare(string op, Func<Tensor> fused, Func<Tensor> reference)
        {
            var expected = reference();
            Poison(expected.shape);
            var actual = fused();
            bool written = !actual.isnan().any().item<bool>();
            list.Add(new FusedCheck(op, RelativeError(actual, expected), written));
        }
        var x = Random(1, _tokens, _dim);
        Compare("modulated LayerNorm", () => WanElementwise.ModulatedNorm(_plainNorm, x, scale, shift), () => WanElementwise.ModulatedNormReference(_plainNorm, x, scale, shift));
        x = Random(1, _tokens, _dim);
        Compare("affine LayerNorm", () => WanElementwise.ModulatedNorm(_affineNorm, x, null, null), () => WanElementwise.ModulatedNormReference(_affineNorm, x, null, null));
        x = Random(1, _tokens, _dim) * 3;
        Compare("RmsNorm + rotary", () => WanElementwise.NormRotary(_rms, x, _heads, rotary), () => WanElementwise.NormRotaryReference(_rms, x, _heads, rotary));
        var t = Random(1, _text, _dim);
        Compare("RmsNorm (text keys)", () => WanElementwise.NormRotary(_rms, t, _heads, null), () => WanElementwise.NormRotaryReference(_rms, t, _heads, null));
        x = Random(1, _tokens, _dim);
        var y = Random(1, _tokens, _dim);
        Compare("gated residual", () => WanElementwise.GatedResidual(x, y, gate, true), () => WanElementwise.GatedResidualReference(x, y, gate, true));
        var hdn = Random(_tokens / 4, _ffn);
        Compare("GELU tanh", () => Activations.GeluTanh(hdn), () => ManualGeluTanh(hdn));
        return list;
    }

    /// <summary>A small Wan model in 16-bit: fused and unfused forwards, each against the same model in float32.</summary>
    public static (double FusedVsUnfused, double UnfusedVsFloat32, double FusedVsFloat32) CheckModel(ComputeOptions options)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        options.ApplySeed();
        var config = Preset("wan-1.3b") with { num_layers = 2 };
        using var reference = new WanTransformer3DModel(config, options.Device, ScalarType.Float32);
        using var model = new WanTransformer3DModel(config, options.Device, options.DType);
        var source = reference.state_dict();
        foreach (var (name, tensor) in model.state_dict()) tensor.copy_(source[name]);
        reference.eval();
        model.eval();
        var latents = torch.randn(new long[] { 1, 16, 3, 16, 24 }, device: options.Device);
        var timestep = torch.tensor(new long[] { 500 }, device: options.Device);
        var text = torch.randn(1, 64, config.text_dim, device: options.Device);
        bool was = FusedKernels.Enabled;
        try
        {
            FusedKernels.Enabled = true;
            var fused = model.Forward(latents, timestep, text);
            FusedKernels.Enabled = false;
            var unfused = model.Forward(latents, timestep, text);
            var full = reference.Forward(latents, timestep, text);
            return (RelativeError(fused, unfused), RelativeError(unfused, full), RelativeError(fused, full));
        }
        finally
        {
            FusedKernels.Enabled = was;
        }
    }

    private static Tensor ManualGeluTanh(Tensor x)
    {
        bool was = FusedKernels.Enabled;
        FusedKernels.Enabled = false;
        try { return Activations.GeluTanh(x); }
        finally { FusedKernels.Enabled = was; }
    }

    public static double RelativeError(Tensor actual, Tensor expected)
    {
        using var scope = torch.NewDisposeScope();
        var a = actual.to(ScalarType.Float64);
        var e = expected.to(ScalarType.Float64);
        return ((a - e).norm() / e.norm()).item<double>();
    }

    private void Poison(long[] shape)
    {
        using var p = torch.full(shape, double.NaN, dtype: _dtype, device: _device);
    }

    private Tensor Random(params long[] shape) => torch.randn(shape, dtype: _dtype, device: _device);

    private Tensor Modulation() => torch.randn(new long[] { 1, 1, _dim }, dtype: ScalarType.Float32, device: _device) * 0.2;

    private static double ElementBytes(ScalarType t) => t is ScalarType.Float32 ? 4 : t is ScalarType.Float64 ? 8 : 2;

    /// <summary>Median over repeats of the mean time of calls issued back to back (one synchronisation per repeat).</summary>
    private double PerCall(int repeats, int calls, Func<Tensor> run)
    {
        void Once()
        {
            using var scope = torch.NewDisposeScope();
            run();
        }
        for (int i = 0; i < 2; i++) Once();
        Microbenchmark.Synchronise(_device);
        var times = new double[repeats];
        for (int r = 0; r < repeats; r++)
        {
            var sw = Stopwatch.StartNew();
            for (int c = 0; c < calls; c++) Once();
            Microbenchmark.Synchronise(_device);
            times[r] = sw.Elapsed.TotalMilliseconds / calls;
        }
        Array.Sort(times);
        return times[repeats / 2];
    }

    public void Dispose()
    {
        _plainNorm.Dispose();
        _affineNorm.Dispose();
        _rms.Dispose();
    }
}
