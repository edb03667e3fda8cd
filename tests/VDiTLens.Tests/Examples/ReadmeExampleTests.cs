using System.Diagnostics;
using VDiTLens.Tests.TestSupport;

namespace VDiTLens.Tests.Examples;

/// <summary>The README's C# example is examples/Quickstart, built with the solution; it runs as written on the embedded model.</summary>
public sealed class ReadmeExampleTests
{
    private static string Repo(params string[] parts) => Path.Combine([Path.GetFullPath(Path.Combine(Fixtures.Root, "..", "..")), .. parts]);

    private static readonly string Program = Repo("examples", "Quickstart", "Program.cs");

    [Fact]
    public void Readme_shows_the_quickstart_program_verbatim()
    {
        string readme = File.ReadAllText(Repo("README.md")).Replace("\r\n", "\n");
        int start = readme.IndexOf("```csharp\n", StringComparison.Ordinal);
        Assert.True(start >= 0, "README.md has no ```csharp block");
        start += "```csharp\n".Length;
        string block = readme[start..readme.IndexOf("```", start, StringComparison.Ordinal)];
        Assert.Equal(File.ReadAllText(Program).Replace("\r\n", "\n"), block);
    }

    [Fact]
    public async Task Quickstart_runs_on_the_embedded_model_from_another_folder()
    {
        string dll = Repo("examples", "Quickstart", "bin", "Release", "net10.0", "Quickstart.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing: build the solution (dotnet build VDiTLens.slnx -c Release)");
        string cwd = Directory.CreateTempSubdirectory("quickstart").FullName;
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = cwd, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(dll);
        start.ArgumentList.Add(Repo("models", "vditlens-tiny"));
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(5)), "the quickstart did not finish in 5 minutes");
        string errors = await stderr, output = await stdout;
        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}: {errors}");
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (int layer in new[] { 0, 1, 2, 3 })
            Assert.Contains(lines, l => l.StartsWith($"blocks.{layer}.attn1: top key receives ", StringComparison.Ordinal));
        Assert.Contains("video 1×9×32×32×3", lines);
    }
}
