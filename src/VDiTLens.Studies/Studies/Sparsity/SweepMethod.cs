using System.Text.Json;
using System.Text.Json.Nodes;
using VDiTLens.Attention;
using VDiTLens.Interventions.Config;

namespace VDiTLens.Studies.Sparsity;

/// <summary>
/// One intervention of the sweep, as an <see cref="InterventionFactory"/> config object whose <see cref="LevelField"/>
/// is set to each level and whose <c>sites</c> are set per cell. Config form (a JSON object, or a list of them):
/// <code>{"type": "block_topk", "block_size": 16, "name": "block16", "level_field": "sparsity"}</code>
/// <c>name</c> (default: the type) labels the method in reports; <c>level_field</c> defaults per type
/// (bottom_k/block_topk: sparsity, threshold: threshold, top_k: k, temperature: tau).
/// </summary>
public sealed record SweepMethod(string Name, string Type, string LevelField, string TemplateJson)
{
    public static SweepMethod Default => FromType("bottom_k");

    public static SweepMethod FromType(string type) =>
        FromObject(new JsonObject { ["type"] = type }, $"--method {type}");

    /// <summary>Parses a JSON object or a list of objects.</summary>
    public static IReadOnlyList<SweepMethod> Parse(string json, string source = "--config")
    {
        JsonNode? root;
        try { root = JsonNode.Parse(json); }
        catch (JsonException e) { throw new VDiTLensException($"{source} is not valid JSON: {e.Message}"); }
        var objects = root switch
        {
            JsonObject o => new[] { o },
            JsonArray a => a.Select((n, i) => n as JsonObject ?? throw new VDiTLensException($"{source}: method #{i} must be a JSON object with a 'type'")).ToArray(),
            _ => throw new VDiTLensException($"{source} must be a JSON object {{\"type\": ...}} or a list of them"),
        };
        if (objects.Length == 0) throw new VDiTLensException($"{source} lists no method");
        var methods = objects.Select((o, i) => FromObject(o, $"{source} method #{i}")).ToArray();
        var duplicate = methods.GroupBy(m => m.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new VDiTLensException($"{source}: two methods are named '{duplicate.Key}'; give each a distinct 'name'");
        return methods;
    }

    private static SweepMethod FromObject(JsonObject source, string where)
    {
        var o = (JsonObject)source.DeepClone();
        string type = Take(o, "type") ?? throw new VDiTLensException($"{where}: field 'type' is required (one of {string.Join(", ", InterventionFactory.Types)})");
        if (!InterventionFactory.Types.Contains(type))
            throw new VDiTLensException($"{where}: field 'type' is '{type}', not one of {string.Join(", ", InterventionFactory.Types)}");
        string name = Take(o, "name") ?? type;
        string level = Take(o, "level_field") ?? DefaultLevelField(type)
            ?? throw new VDiTLensException($"{where}: type '{type}' has no default level field; set 'level_field' to the field the sweep levels go into");
        if (o.ContainsKey("sites")) throw new VDiTLensException($"{where}: field 'sites' is set by the sweep per cell; remove it (use --sites to restrict layers)");
        o["type"] = type;
        var method = new SweepMethod(name, type, level, o.ToJsonString());
        method.Build(IsCount(level) ? 1 : 0.5, new[] { "blocks.0.attn1" }); // fail now, naming the field, not after the dense run
        return method;
    }

    private static string? Take(JsonObject o, string field)
    {
        if (!o.TryGetPropertyValue(field, out var node) || node is null) return null;
        o.Remove(field);
        return node is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw new VDiTLensException($"sweep method field '{field}' must be a string");
    }

    /// <summary>Level fields that take whole numbers (levels are rounded).</summary>
    private static bool IsCount(string field) => field is "k" or "keep_blocks";

    public static string? DefaultLevelField(string type) => type switch
    {
        "bottom_k" or "bottom_k_head" or "random_k" or "block_topk" => "sparsity",
        "threshold" => "threshold",
        "top_k" => "k",
        "temperature" => "tau",
        _ => null,
    };

    /// <summary>The interventions of one cell: this method at <paramref name="level"/> on <paramref name="sites"/>.</summary>
    public IReadOnlyList<IAttentionIntervention> Build(double level, IReadOnlyList<string> sites)
    {
        var o = JsonNode.Parse(TemplateJson)!.AsObject();
        o[LevelField] = IsCount(LevelField) ? JsonValue.Create((long)Math.Round(level)) : JsonValue.Create(level);
        o["sites"] = new JsonArray(sites.Select(s => (JsonNode?)JsonValue.Create(s)).ToArray());
        return InterventionFactory.FromJson(new JsonArray(o).ToJsonString());
    }
}
