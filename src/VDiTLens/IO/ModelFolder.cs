using System.Text.Json;
using System.Text.Json.Nodes;

namespace VDiTLens.IO;

/// <summary>A model folder in the diffusers/transformers layout: <c>config.json</c> plus weights.</summary>
public sealed class ModelFolder
{
    public string Path { get; }
    public JsonObject Config { get; }
    public string? ClassName => Config["_class_name"]?.GetValue<string>() ?? (Config["architectures"] as JsonArray)?.FirstOrDefault()?.GetValue<string>();

    private ModelFolder(string path, JsonObject config)
    {
        Path = path;
        Config = config;
    }

    public static ModelFolder Open(string path)
    {
        if (!Directory.Exists(path))
            throw new VDiTLensException($"{path}: model folder not found");
        return new ModelFolder(path, ReadJsonObject(System.IO.Path.Combine(path, "config.json")));
    }

    public ITensorSource OpenWeights() => Checkpoint.Open(Path);

    public static JsonObject ReadJsonObject(string file)
    {
        if (!File.Exists(file))
            throw new VDiTLensException($"{file}: file not found");
        try
        {
            return JsonNode.Parse(File.ReadAllText(file), documentOptions: new JsonDocumentOptions
            {
                AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip,
            }) as JsonObject ?? throw new VDiTLensException($"{file}: not a JSON object");
        }
        catch (JsonException e)
        {
            throw new VDiTLensException($"{file}: invalid JSON ({e.Message})");
        }
    }
}
