namespace VDiTLens.Cli.Options;

/// <summary>
/// Where the embedded model is, wherever <c>vditlens</c> runs from: <c>$VDITLENS_MODEL</c>, else
/// <c>models/vditlens-tiny</c> next to the program (copied there by the build) or in a folder above it (a checkout).
/// </summary>
internal static class ModelLocator
{
    public const string EnvironmentVariable = "VDITLENS_MODEL";
    public const string EmbeddedFolder = "models/vditlens-tiny";

    /// <summary>The folder given on the command line, else the embedded model.</summary>
    public static string Resolve(string? given) => string.IsNullOrWhiteSpace(given) ? Embedded() : given;

    public static string Embedded()
    {
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } fromEnvironment)
            return Directory.Exists(fromEnvironment) ? fromEnvironment
                : throw new VDiTLensException($"${EnvironmentVariable}={fromEnvironment}: folder not found (point it at a pipeline folder, or unset it to use the embedded model)");
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, EmbeddedFolder);
            if (File.Exists(Path.Combine(candidate, "model_index.json"))) return candidate;
        }
        throw new VDiTLensException(
            $"the embedded model ({EmbeddedFolder}) is neither next to the program ({AppContext.BaseDirectory}) nor in a folder above it; pass a pipeline folder or set ${EnvironmentVariable}");
    }
}
