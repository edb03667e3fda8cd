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

    /// <summary>Opens a folder that must be a diffusers pipeline (model_index.json), refusing anything else by name.</summary>
    public static PipelineFolder OpenPipeline(string path)
    {
        if (!Directory.Exists(path)) throw new VDiTLensException($"{path}: pipeline folder not found");
        if (!IsPipeline(path))
            throw new VDiTLensException($"{path}: no model_index.json; --model must be a diffusers pipeline folder (pipe.save_pretrained)");
        return Open(path);
    }

    private string IndexFile => System.IO.Path.Combine(Path, "model_index.json");

    /// <summary>Refuses a folder whose model_index.json lacks one of <paramref name="required"/>.</summary>
    public void RequireComponents(string pipelineClass, IReadOnlyList<string> required, string note = "")
    {
        foreach (var name in required)
            if (!Components.ContainsKey(name))
                throw new VDiTLensException($"{IndexFile}: component '{name}' is missing; a {pipelineClass} needs {string.Join(", ", required)}{note}");
    }

    /// <summary>A component's model folder, refused unless its config names <paramref name="expectedClass"/>.</summary>
    public ModelFolder OpenComponent(string component, string expectedClass)
    {
        var folder = ModelFolder.Open(ComponentPath(component));
        if (folder.ClassName != expectedClass)
            throw new VDiTLensException($"{System.IO.Path.Combine(Path, component)}/config.json: _class_name '{folder.ClassName ?? "missing"}' is not supported for component '{component}' (supported: {expectedClass})");
        return folder;
    }

    /// <summary>The scheduler folder, refused unless its scheduler_config.json names one of <paramref name="supported"/>.</summary>
    public string SchedulerPath(string pipelineClass, IReadOnlyCollection<string> supported, string hint = "")
    {
        string path = ComponentPath("scheduler");
        string? found = Schedulers.SchedulerConfigFile.Read(path).Get<string?>("_class_name", null);
        if (found is null || !supported.Contains(found))
            throw new VDiTLensException($"{path}/scheduler_config.json: _class_name '{found ?? "missing"}' is not a scheduler a {pipelineClass} can use (supported: {string.Join(", ", supported)}{hint})");
        return path;
    }

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
