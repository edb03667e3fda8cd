using TorchSharp;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.IO;

/// <summary>Reads fixture-format model inputs: floating tensors go to the compute device and dtype, integer ones keep theirs.</summary>
public static class InputFile
{
    public static Dictionary<string, Tensor> Load(string path, ComputeOptions options, IEnumerable<string>? onlyKeys = null)
    {
        using var file = SafeTensorsFile.Open(path);
        var wanted = onlyKeys?.ToHashSet();
        var result = new Dictionary<string, Tensor>();
        foreach (var entry in file.Tensors)
        {
            if (wanted is not null && !wanted.Contains(entry.Name)) continue;
            var t = file.Load(entry.Name, options.Device);
            if (t.is_floating_point() && t.dtype != options.DType)
            {
                var cast = t.to(options.DType);
                t.Dispose();
                t = cast;
            }
            result[entry.Name] = t;
        }
        return result;
    }
}
