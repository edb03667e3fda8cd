namespace VDiTLens.Studies;

/// <summary>Prompts from a text file: one a line, surrounding spaces trimmed; blank lines and lines starting with '#' skipped.</summary>
public static class PromptFile
{
    public static IReadOnlyList<string> Read(string path)
    {
        if (!File.Exists(path)) throw new VDiTLensException($"prompts file {path}: not found (give a text file with one prompt a line)");
        var prompts = Parse(File.ReadAllLines(path));
        return prompts.Count > 0 ? prompts
            : throw new VDiTLensException($"prompts file {path}: no prompts in it (one prompt a line; blank lines and lines starting with # are skipped)");
    }

    public static IReadOnlyList<string> Parse(IEnumerable<string> lines) =>
        lines.Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToArray();
}
