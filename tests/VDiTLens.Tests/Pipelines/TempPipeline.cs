using System.Text.Json;
using System.Text.Json.Nodes;
using VDiTLens.Tests.TestSupport;

namespace VDiTLens.Tests.Pipelines;

/// <summary>A throw-away copy of a pipeline fixture folder (wan_pipeline unless named) that a test may edit; deleted on dispose.</summary>
public sealed class TempPipeline : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "vditlens-pipeline-" + Guid.NewGuid().ToString("N"));

    public TempPipeline(string? source = null)
    {
        Copy(source ?? Fixtures.Path("wan_pipeline", "pipeline"), Path);
    }

    public string File(params string[] parts) => System.IO.Path.Combine(new[] { Path }.Concat(parts).ToArray());

    /// <summary>Edits a JSON file of the copy (relative path, e.g. "transformer/config.json").</summary>
    public void EditJson(string relative, Action<JsonObject> edit)
    {
        string file = File(relative);
        var json = JsonNode.Parse(System.IO.File.ReadAllText(file))!.AsObject();
        edit(json);
        System.IO.File.WriteAllText(file, json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
    }

    private static void Copy(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from)) System.IO.File.Copy(file, System.IO.Path.Combine(to, System.IO.Path.GetFileName(file)));
        foreach (var dir in Directory.GetDirectories(from)) Copy(dir, System.IO.Path.Combine(to, System.IO.Path.GetFileName(dir)));
    }
}
