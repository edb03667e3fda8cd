using VDiTLens.Studies;

namespace VDiTLens.Tests.Studies;

/// <summary>Prompts from a file: one a line, blanks and # comments skipped; a missing or empty file is a one-line error naming it.</summary>
public sealed class PromptFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vditlens-prompts-").FullName;

    [Fact]
    public void Reads_one_prompt_a_line_skipping_blank_lines_and_comments()
    {
        string path = Path.Combine(_dir, "prompts.txt");
        File.WriteAllText(path, "# colours\n  a red circle moving left  \n\n\t\n# shapes\na blue square, moving up\n");
        Assert.Equal(new[] { "a red circle moving left", "a blue square, moving up" }, PromptFile.Read(path));
    }

    [Fact]
    public void A_missing_or_empty_file_is_a_clear_error()
    {
        string missing = Path.Combine(_dir, "missing.txt");
        var e = Assert.Throws<VDiTLensException>(() => PromptFile.Read(missing));
        Assert.Contains(missing, e.Message);
        Assert.Contains("not found", e.Message);
        string empty = Path.Combine(_dir, "empty.txt");
        File.WriteAllText(empty, "# nothing yet\n\n");
        e = Assert.Throws<VDiTLensException>(() => PromptFile.Read(empty));
        Assert.Contains("no prompts", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    public void Dispose() => Directory.Delete(_dir, true);
}
