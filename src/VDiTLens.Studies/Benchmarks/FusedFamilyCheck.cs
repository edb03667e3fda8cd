using System.Text.Json.Nodes;
using TorchSharp;
using VDiTLens.IO;
using VDiTLens.Models.Common;
using VDiTLens.Runtime;
using VDiTLens.Runtime.Cuda;
using static TorchSharp.torch;

namespace VDiTLens.Benchmarks;

public sealed record FusedCheckResult(string Preset, double FusedVsUnfused, double UnfusedVsFloat32, double FusedVsFloat32);

/// <summary>
/// A two-layer version of a full-width preset (CogVideoX, Mochi-1, HunyuanVideo) on small inputs: the 16-bit model
/// with the fused kernels and without them, each against the same weights in float32 (relative L2 of the outputs).
/// </summary>
public static class FusedFamilyCheck
{
    public static FusedCheckResult Run(BenchmarkPreset preset, ComputeOptions options)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        options.ApplySeed();
        var folder = SmallConfig(preset);
        var reference = TransformerLoader.CreateRandom(folder, options with { DType = ScalarType.Float32 });
        var model = TransformerLoader.CreateRandom(folder, options);
        var source = ((nn.Module)reference).state_dict();
        foreach (var (name, tensor) in ((nn.Module)model).state_dict()) tensor.copy_(source[name]);
        var inputs = SmallInputs(preset.Name, options.Device);
        var half = inputs.ToDictionary(p => p.Key, p => p.Value.is_floating_point() && p.Key != "timestep" ? p.Value.to(options.DType) : p.Value);
        bool was = FusedKernels.Enabled;
        try
        {
            FusedKernels.Enabled = true;
            var fused = model.Forward(half);
            FusedKernels.Enabled = false;
            var unfused = model.Forward(half);
            var full = reference.Forward(inputs);
            return new FusedCheckResult(preset.Name, ElementwiseBenchmark.RelativeError(fused, unfused),
                ElementwiseBenchmark.RelativeError(unfused, full), ElementwiseBenchmark.RelativeError(fused, full));
        }
        finally
        {
            FusedKernels.Enabled = was;
            ((nn.Module)reference).Dispose();
            ((nn.Module)model).Dispose();
        }
    }

    private static ModelFolder SmallConfig(BenchmarkPreset preset)
    {
        var json = JsonNode.Parse(preset.ConfigJson)!.AsObject();
        json["_class_name"] = preset.ClassName;
        json["num_layers"] = 2;
        if (json.ContainsKey("num_single_layers")) json["num_single_layers"] = 2;
        string dir = Path.Combine(Path.GetTempPath(), "vditlens-check-" + preset.Name + "-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.json"), json.ToJsonString());
        return ModelFolder.Open(dir);
    }

    /// <summary>float32 inputs; text masks keep 10 of 32 tokens (a prefix).</summary>
    private static Dictionary<string, Tensor> SmallInputs(string preset, Device d)
    {
        Tensor Randn(params long[] shape) => torch.randn(shape, device: d);
        var prefix = torch.arange(32, device: d).lt(10).unsqueeze(0);
        return preset switch
        {
            "cogvideox-5b" => new()
            {
                ["hidden_states"] = Randn(1, 3, 16, 8, 12), ["encoder_hidden_states"] = Randn(1, 24, 4096),
                ["timestep"] = torch.tensor(new long[] { 999 }, device: d),
            },
            "mochi-10b" => new()
            {
                ["hidden_states"] = Randn(1, 12, 3, 8, 12), ["encoder_hidden_states"] = Randn(1, 32, 4096),
                ["timestep"] = torch.tensor(new float[] { 999f }, device: d), ["encoder_attention_mask"] = prefix,
            },
            "hunyuan-13b" => new()
            {
                ["hidden_states"] = Randn(1, 16, 3, 8, 12), ["timestep"] = torch.tensor(new float[] { 999f }, device: d),
                ["encoder_hidden_states"] = Randn(1, 32, 4096), ["encoder_attention_mask"] = prefix.to(ScalarType.Float32),
                ["pooled_projections"] = Randn(1, 768), ["guidance"] = torch.tensor(new float[] { 6000f }, device: d),
            },
            _ => throw new VDiTLensException($"no fused-kernel check for preset '{preset}' (cogvideox-5b, mochi-10b, hunyuan-13b)"),
        };
    }
}
