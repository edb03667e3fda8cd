using System.Text.Json.Nodes;

namespace VDiTLens.IO;

/// <summary>A diffusers pipeline folder: <c>model_index.json</c> naming component subfolders.</summary>
public sealed class PipelineFolder
{
    public string Path { get; }
    public JsonObject Index { get; }
    public string? ClassName => ModelFolder.StringOrNull(Index["_class_name"]);

    private PipelineFolder(string path, JsonObject index)
    {
        Path = path;
        Index = index;
    }

    public static PipelineFolder Open(string path)
    {
        if (!Directory.Exists(path))
            throw new VDiTLensException($"{path}: pipeline folder not found");
        return new PipelineFolder(path, ModelFolder.ReadJsonObject(System.IO.Path.Combine(path, "model_index.json")));
    }

    public static bool IsPipeline(string path) => File.Exists(System.IO.Path.Combine(path, "model_index.json"));

    /// <summary>The components listed in model_index.json: name → (library, class).</summary>
    public IReadOnlyDictionary<string, (string Library, string Class)> Components =>
        Index.Where(kv => !kv.Key.StartsWith('_') && kv.Value is JsonArray { Count: 2 } a
                          && ModelFolder.StringOrNull(a[0]) is not null && ModelFolder.StringOrNull(a[1]) is not null)
            .ToDictionary(kv => kv.Key, kv => (ModelFolder.StringOrNull(((JsonArray)kv.Value!)[0])!, ModelFolder.StringOrNull(((JsonArray)kv.Value!)[1])!));

    public string ComponentPath(string component)
    {
        if (!Components.ContainsKey(component))
            throw new VDiTLensException($"{Path}/model_index.json: no component '{component}' (has: {string.Join(", ", Components.Keys)})");
        string dir = System.IO.Path.Combine(Path, component);
        if (!Directory.Exists(dir))
            throw new VDiTLensException($"{Path}: component folder '{component}/' is missing");
        return dir;
    }
}
