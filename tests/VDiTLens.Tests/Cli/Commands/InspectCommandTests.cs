using VDiTLens.Cli;
using VDiTLens.Tests.IO;
using VDiTLens.Tests.TestSupport;

namespace VDiTLens.Tests.Cli.Commands;

/// <summary>The <c>inspect</c> verb, run in-process through <see cref="CliApp.Run"/>.</summary>
[Collection(VDiTLens.Tests.TestSupport.ConsoleCollection.Name)]
public sealed class InspectCommandTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("vditlens-inspect-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = CliApp.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    public static TheoryData<string> Damages => new(DamagedFiles.All.Select(d => d.Name));

    [Theory]
    [MemberData(nameof(Damages))]
    public void Damaged_file_exits_non_zero_with_one_error_line_and_no_stack_trace(string damage)
    {
        var d = DamagedFiles.Get(damage);
        string path = Path.Combine(_folder, d.Name + ".safetensors");
        File.WriteAllBytes(path, d.Bytes);

        var (code, _, err) = Run("inspect", path);

        Assert.Equal(2, code);
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith($"error: {path}: ", lines[0]);
        Assert.Contains(d.MessageFragment, lines[0]);
        Assert.DoesNotContain(" at VDiTLens", err);
        Assert.DoesNotContain("Exception", err);
    }

    [Fact]
    public void Model_folder_lists_tensors_and_parameter_count()
    {
        // 69 tensors, 21,784 parameters: counted from the header with Python's json module.
        var (code, output, err) = Run("inspect", Fixtures.Path("wan_t2v"));

        Assert.True(code == 0, err);
        Assert.Equal("", err);
        Assert.Contains("config: class WanTransformer3DModel", output);
        Assert.Contains("patch_embedding.weight", output);
        Assert.Contains("blocks.0.attn1.to_q.weight", output);
        Assert.Contains($"69 tensors, {21_784:N0} parameters", output);
    }

    [Fact]
    public void Missing_path_is_one_error_line()
    {
        string path = Path.Combine(_folder, "nothing-here");
        var (code, _, err) = Run("inspect", path);
        Assert.Equal(2, code);
        Assert.Equal($"error: {path}: no such file or folder", err.TrimEnd('\n'));
    }
}
