using System.Text.RegularExpressions;

namespace VDiTLens.Runtime.Cuda;

public enum KernelArgKind { Pointer, Int64, Float32 }

/// <summary>One kernel parameter as declared in its source: name and how it is passed.</summary>
public sealed record KernelParameter(string Name, KernelArgKind Kind);

/// <summary>
/// A kernel's parameter list, read from its <c>extern "C" __global__</c> declaration, so that a launch with arguments
/// of the wrong number or kind (pointer, 64-bit integer, float) is refused before it can corrupt memory.
/// </summary>
public static partial class KernelSignature
{
    [GeneratedRegex(@"__global__\s+void\s+(?:__launch_bounds__\s*\([^)]*\)\s*)?(\w+)\s*\(([^)]*)\)")]
    private static partial Regex Declaration();

    public static IReadOnlyList<KernelParameter> Parse(string source, string kernel)
    {
        var match = Declaration().Matches(source).FirstOrDefault(m => m.Groups[1].Value == kernel)
            ?? throw new VDiTLensException($"kernel source has no __global__ function '{kernel}'");
        string list = match.Groups[2].Value.Trim();
        if (list.Length == 0) return Array.Empty<KernelParameter>();
        return list.Split(',').Select(p => Parameter(p, kernel)).ToArray();
    }

    /// <summary>Null when the arguments fit the parameters, else why not (naming the first mismatch).</summary>
    public static string? Mismatch(IReadOnlyList<KernelParameter> parameters, IReadOnlyList<KernelArg> args)
    {
        if (parameters.Count != args.Count)
            return $"{args.Count} arguments for {parameters.Count} parameters ({string.Join(", ", parameters.Select(p => p.Name))})";
        for (int i = 0; i < args.Count; i++)
            if (args[i].Kind != parameters[i].Kind)
                return $"argument {i} ('{parameters[i].Name}') is {args[i].Kind}, the kernel declares {parameters[i].Kind}";
        return null;
    }

    private static KernelParameter Parameter(string declaration, string kernel)
    {
        var words = declaration.Replace("*", " * ").Split(new[] { ' ', '\t', '\n', '\r' }, StringSplitOptions.RemoveEmptyEntries);
        string name = words[^1];
        if (words.Contains("*")) return new(name, KernelArgKind.Pointer);
        string type = string.Join(" ", words[..^1].Where(w => w is not ("const" or "__restrict__")));
        return type switch
        {
            "i64" or "long long" or "int64_t" => new(name, KernelArgKind.Int64),
            "float" => new(name, KernelArgKind.Float32),
            _ => throw new VDiTLensException($"kernel '{kernel}' parameter '{declaration.Trim()}': only pointers, i64 and float are passed by the launcher"),
        };
    }
}
