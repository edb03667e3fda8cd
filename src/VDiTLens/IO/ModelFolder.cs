using System.Text.Json;
using System.Text.Json.Nodes;

namespace VDiTLens.IO;

/// <summary>A model folder in the diffusers/transformers layout: <c>config.json</c> plus weights.</summary>
public sealed class ModelFolder
{
    public string Path { get; }
    public JsonObject Config { get; }
    public string? ClassName => StringOrNull(Config["_class_name"]) ?? StringOrNull((Config["architectures"] as JsonArray)?.FirstOrDefault());

    /// <summary>The node's string value, or null where it is absent or not a string (GetValue would throw).</summary>
    public static string? StringOrNull(JsonNode? node) =>
        node is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

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
            var root = JsonNode.Parse(File.ReadAllText(file), documentOptions: new JsonDocumentOptions
            {
                AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip,
            }) as JsonObject ?? throw new VDiTLensException($"{file}: not a JSON object");
            _ = root.Count; // JsonObject builds its dictionary lazily; a duplicate key throws here, not later
            return root;
        }
        catch (JsonException e)
        {
            throw new VDiTLensException($"{file}: invalid JSON ({e.Message})");
        }
        catch (ArgumentException e)
        {
            throw new VDiTLensException($"{file}: invalid JSON ({e.Message})");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new VDiTLensException($"{file}: cannot read ({e.Message})", e);
        }
    }
}
