using VDiTLens.Cli;
using VDiTLens.Tests.IO;

namespace VDiTLens.Tests.Cli.Commands;

[Collection(VDiTLens.Tests.TestSupport.ConsoleCollection.Name)]
public sealed class FuzzCommandTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("vditlens-fuzzcli-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Short_run_prints_a_summary_and_exits_zero()
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = CliApp.Run(["fuzz-safetensors", "--cases", "300", "--seed", "3", "--out", _folder], output, error);
        Assert.True(code == 0, output + "\n" + error);
        Assert.Contains("300 cases: ", output.ToString());
        Assert.Contains("0 failures", output.ToString());
        Assert.Contains("header is not valid JSON", output.ToString());
        Assert.Empty(Directory.GetFiles(_folder));
    }

    [Fact]
    public void Damaged_seed_file_is_refused_with_one_error_line()
    {
        string path = Path.Combine(_folder, "seed.safetensors");
        File.WriteAllBytes(path, DamagedFiles.Get("gap-between-tensors").Bytes);
        var error = new StringWriter();
        int code = CliApp.Run(["fuzz-safetensors", "--cases", "10", "--file", path], new StringWriter(), error);
        Assert.Equal(2, code);
        Assert.StartsWith($"error: {path}: gap of 4", error.ToString());
        Assert.Single(error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}
