using VDiTLens.IO;
using static TorchSharp.torch;

namespace VDiTLens.Cli.Options;

/// <summary>One tensor of a safetensors file given on the command line (<c>--latents</c>, <c>--image</c>), as float32.</summary>
internal static class TensorFile
{
    public static Tensor Load(string file, string key, string option)
    {
        if (!File.Exists(file)) throw new VDiTLensException($"{option} {file}: file not found");
        using var tensors = SafeTensorsFile.Open(file);
        if (!tensors.Contains(key))
            throw new VDiTLensException($"{option} {file}: no tensor '{key}' (has: {string.Join(", ", tensors.Names)})");
        return tensors.Load(key, dtype: ScalarType.Float32);
    }
}
