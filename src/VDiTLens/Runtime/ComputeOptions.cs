using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Runtime;

/// <summary>Where and in what precision a command computes, and its seed.</summary>
public sealed record ComputeOptions(Device Device, ScalarType DType, long Seed)
{
    public static ComputeOptions Cpu32 => new(torch.CPU, ScalarType.Float32, 0);

    /// <summary>Parses user-facing names; "auto" picks CUDA when available.</summary>
    public static ComputeOptions Parse(string device, string dtype, long seed)
    {
        var d = ParseDevice(device);
        var t = ParseDType(dtype, d);
        return new ComputeOptions(d, t, seed);
    }

    public static Device ParseDevice(string name)
    {
        name = name.Trim().ToLowerInvariant();
        if (name == "auto") return torch.cuda.is_available() ? torch.CUDA : torch.CPU;
        if (name == "cpu") return torch.CPU;
        if (name == "cuda" || name.StartsWith("cuda:"))
        {
            if (!torch.cuda.is_available())
                throw new VDiTLensException($"--device {name}: CUDA is not available (this libtorch: {TorchRuntime.Source}). Use --device cpu, or point --libtorch / {LibTorchLocator.EnvironmentVariable} at a CUDA libtorch");
            int index = name == "cuda" ? 0 : int.TryParse(name[5..], out int i) ? i : -1;
            if (index < 0 || index >= torch.cuda.device_count())
                throw new VDiTLensException($"--device {name}: no such CUDA device ({torch.cuda.device_count()} present)");
            return torch.device(DeviceType.CUDA, index);
        }
        throw new VDiTLensException($"--device {name}: unknown device (use cpu, cuda, cuda:N or auto)");
    }

    public static ScalarType ParseDType(string name, Device device)
    {
        string n = name.Trim().ToLowerInvariant();
        if (n == "auto") return device.type == DeviceType.CUDA ? ScalarType.BFloat16 : ScalarType.Float32;
        ScalarType t = n switch
        {
            "float64" or "fp64" or "f64" or "double" => ScalarType.Float64,
            "float32" or "fp32" or "f32" or "float" => ScalarType.Float32,
            "bfloat16" or "bf16" => ScalarType.BFloat16,
            "float16" or "fp16" or "f16" or "half" => ScalarType.Float16,
            _ => throw new VDiTLensException($"--dtype {name}: unknown dtype (use float64, float32, bfloat16, float16 or auto)"),
        };
        if (t == ScalarType.Float16 && device.type == DeviceType.CPU)
            throw new VDiTLensException("--dtype float16 is not supported on CPU (use float32, float64 or bfloat16)");
        return t;
    }

    public static string NameOf(ScalarType t) => t switch
    {
        ScalarType.Float64 => "float64",
        ScalarType.Float32 => "float32",
        ScalarType.BFloat16 => "bfloat16",
        ScalarType.Float16 => "float16",
        _ => t.ToString(),
    };

    public void ApplySeed() => torch.manual_seed(Seed);
}
