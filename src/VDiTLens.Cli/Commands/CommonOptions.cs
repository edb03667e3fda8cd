using System.CommandLine;
using VDiTLens.Runtime;

namespace VDiTLens.Cli.Commands;

/// <summary>Options every computing command takes: device, dtype, seed and where libtorch lives.</summary>
internal sealed class CommonOptions
{
    public Option<string> Device { get; } = new("--device") { Description = "cpu, cuda, cuda:N or auto", DefaultValueFactory = _ => "auto" };
    public Option<string> DType { get; } = new("--dtype") { Description = "float64, float32, bfloat16, float16 or auto (bf16 on CUDA, fp32 on CPU)", DefaultValueFactory = _ => "auto" };
    public Option<long> Seed { get; } = new("--seed") { Description = "random seed", DefaultValueFactory = _ => 0 };
    public Option<string?> LibTorch { get; } = new("--libtorch") { Description = $"libtorch 'lib' folder to load, or 'python' to use python3's PyTorch (default: ${LibTorchLocator.EnvironmentVariable})" };

    public void AddTo(Command command)
    {
        command.Options.Add(Device);
        command.Options.Add(DType);
        command.Options.Add(Seed);
        command.Options.Add(LibTorch);
    }

    public ComputeOptions Resolve(ParseResult result)
    {
        TorchRuntime.Initialise(result.GetValue(LibTorch));
        var options = ComputeOptions.Parse(result.GetValue(Device)!, result.GetValue(DType)!, result.GetValue(Seed));
        options.ApplySeed();
        return options;
    }
}
