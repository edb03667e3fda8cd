using System.Reflection;

namespace VDiTLens.Runtime.Cuda;

/// <summary>
/// The CUDA C kernel sources, embedded from <c>Runtime/Cuda/Kernels</c>: one <c>NAME.cu</c> per kernel holding the
/// <c>extern "C"</c> kernel NAME, each including the shared <c>prelude.cuh</c> (given to NVRTC as a header).
/// </summary>
public static class KernelSources
{
    public const string Prelude = "prelude.cuh";
    private const string Prefix = "VDiTLens.Kernels.";
    private static readonly Assembly Assembly = typeof(KernelSources).Assembly;

    /// <summary>The kernel names (file names without <c>.cu</c>), sorted.</summary>
    public static IReadOnlyList<string> Kernels { get; } = Assembly.GetManifestResourceNames()
        .Where(n => n.StartsWith(Prefix, StringComparison.Ordinal) && n.EndsWith(".cu", StringComparison.Ordinal))
        .Select(n => n[Prefix.Length..^3]).Order(StringComparer.Ordinal).ToArray();

    /// <summary>The text of an embedded kernel file (<c>NAME.cu</c> or <c>prelude.cuh</c>).</summary>
    public static string Text(string file)
    {
        using var stream = Assembly.GetManifestResourceStream(Prefix + file)
            ?? throw new VDiTLensException($"kernel source '{file}' is not embedded in {Assembly.GetName().Name} (expected Runtime/Cuda/Kernels/{file})");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>The source of kernel NAME (<c>NAME.cu</c>).</summary>
    public static string Source(string kernel) => Text(kernel + ".cu");
}
