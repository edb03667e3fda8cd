using System.Text.Json;
using System.Text.Json.Nodes;

namespace VDiTLens.Models.Common;

/// <summary>Reads typed fields of a config.json with errors that name the file and the field.</summary>
public sealed class ConfigReader(JsonObject config, string file)
{
    public string File { get; } = file;
    public JsonObject Json { get; } = config;

    public bool Has(string field) => Json[field] is not null;

    public T Get<T>(string field, T fallback)
    {
        var node = Json[field];
        if (node is null) return fallback;
        try
        {
            return node.Deserialize<T>() ?? fallback;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new VDiTLensException($"{File}: field '{field}' = {node.ToJsonString()} is not a valid {typeof(T).Name}");
        }
    }

    public T Require<T>(string field)
    {
        if (Json[field] is null) throw new VDiTLensException($"{File}: required field '{field}' is missing");
        return Get<T>(field, default!);
    }

    public int[] Ints(string field, int[] fallback) => Get(field, fallback);

    /// <summary>Fails when a field that selects an unsupported variant is set to anything but its default.</summary>
    public void RejectUnless(string field, Func<JsonNode?, bool> supported, string what)
    {
        var node = Json[field];
        bool ok;
        try
        {
            ok = supported(node);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            ok = false; // a value of the wrong JSON type is as unsupported as a wrong value
        }
        if (!ok)
            throw new VDiTLensException($"{File}: field '{field}' = {node?.ToJsonString() ?? "null"} asks for {what}, which is not supported yet");
    }
}
