using VDiTLens.IO;

namespace VDiTLens.Tests.IO;

public sealed class ModelFolderTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("vditlens-folder-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Config(string json)
    {
        string path = Path.Combine(_folder, "config.json");
        File.WriteAllText(path, json);
        return path;
    }

    [Theory]
    [InlineData("{\"a\": 1", "invalid JSON")]
    [InlineData("[1]", "not a JSON object")]
    [InlineData("{\"a\": 1, \"a\": 2}", "invalid JSON")]
    public void Malformed_config_is_refused_naming_the_file(string json, string fragment)
    {
        string path = Config(json);
        var e = Assert.Throws<VDiTLensException>(() => ModelFolder.Open(_folder));
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains(fragment, e.Message);
    }

    [Fact]
    public void Missing_config_names_the_file()
    {
        var e = Assert.Throws<VDiTLensException>(() => ModelFolder.Open(_folder));
        Assert.Equal($"{Path.Combine(_folder, "config.json")}: file not found", e.Message);
    }

    [Theory]
    [InlineData("{\"_class_name\": \"WanTransformer3DModel\"}", "WanTransformer3DModel")]
    [InlineData("{\"architectures\": [\"T5EncoderModel\"]}", "T5EncoderModel")]
    [InlineData("{\"_class_name\": 3}", null)]
    [InlineData("{\"architectures\": [null]}", null)]
    [InlineData("{\"architectures\": \"T5\"}", null)]
    public void Class_name_is_read_or_null_never_a_crash(string json, string? expected)
    {
        Config(json);
        Assert.Equal(expected, ModelFolder.Open(_folder).ClassName);
    }

    [Fact]
    public void Folder_without_weights_says_what_it_expected()
    {
        Config("{}");
        var e = Assert.Throws<VDiTLensException>(() => ModelFolder.Open(_folder).OpenWeights());
        Assert.StartsWith(_folder + ": no weights found", e.Message);
    }

    [Fact]
    public void Pipeline_components_skip_entries_that_are_not_string_pairs()
    {
        File.WriteAllText(Path.Combine(_folder, "model_index.json"),
            "{\"_class_name\": 1, \"transformer\": [\"diffusers\", \"WanTransformer3DModel\"], \"vae\": [null, null], \"x\": [1, 2]}");
        var pipeline = PipelineFolder.Open(_folder);
        Assert.Null(pipeline.ClassName);
        Assert.Equal(new[] { "transformer" }, pipeline.Components.Keys);
    }
}
