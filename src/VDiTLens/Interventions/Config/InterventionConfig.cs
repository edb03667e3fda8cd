using System.Text.Json;
using System.Text.Json.Nodes;
using VDiTLens.Attention;

namespace VDiTLens.Interventions.Config;

/// <summary>
/// Parses an intervention config: a JSON list of objects, each with a <c>type</c>, optional scope fields
/// (<c>sites</c>, <c>heads</c>, <c>steps</c> as [min, max], <c>branches</c>, <c>experts</c>) and its type's own fields, e.g.
/// <code>[{"type":"bottom_k","sparsity":0.3,"sites":["blocks.2*"],"heads":[0,1],"steps":[0,10],"keep_sinks":[0,5]},
///  {"type":"temperature","tau":1.5,"sites":["self"]}]</code>
/// Types and their fields are listed in <see cref="InterventionFactory"/>.
/// </summary>
public static class InterventionConfig
{
    public static IReadOnlyList<InterventionSpec> Load(string path)
    {
        if (!File.Exists(path)) throw new VDiTLensException($"intervention config '{path}' not found");
        return Parse(File.ReadAllText(path), path);
    }

    public static IReadOnlyList<InterventionSpec> Parse(string json, string source = "intervention config")
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new VDiTLensException($"{source} is not valid JSON: {e.Message}");
        }
        if (root is not JsonArray entries)
            throw new VDiTLensException($"{source} must be a JSON list of interventions: [{{\"type\": ...}}, ...]");
        var specs = new List<InterventionSpec>();
        for (int i = 0; i < entries.Count; i++)
        {
            if (entries[i] is not JsonObject entry)
                throw new VDiTLensException($"{source}: intervention #{i} must be an object with a 'type' field");
            string type = entry["type"] is JsonValue t && t.GetValueKind() == JsonValueKind.String ? t.GetValue<string>()
                : throw new VDiTLensException($"{source}: intervention #{i}: field 'type' is required and must be a string (one of {string.Join(", ", InterventionFactory.Types)})");
            var fields = new SpecFields(entry, $"intervention #{i} ({type})");
            fields.String("type");
            specs.Add(new InterventionSpec(i, type, ReadScope(fields), fields));
        }
        return specs;
    }

    private static AttentionSelector ReadScope(SpecFields f)
    {
        var steps = f.Range("steps");
        int? Step(long? s) => s is null ? null : s is >= int.MinValue and <= int.MaxValue ? (int)s : throw f.Error("steps", "is out of range");
        var heads = f.Longs("heads") ?? Array.Empty<long>();
        if (heads.Any(h => h < 0)) throw f.Error("heads", "must not contain negative head indices");
        if (heads.Distinct().Count() != heads.Length) throw f.Error("heads", "lists a head twice");
        return new AttentionSelector
        {
            Sites = f.Strings("sites") ?? Array.Empty<string>(),
            Heads = heads,
            Layers = f.Indices("layers") ?? IndexSet.All,
            Steps = IndexSet.Between(Step(steps?.Min), Step(steps?.Max)),
            Branches = f.Strings("branches") ?? Array.Empty<string>(),
            Experts = AttentionSelector.CheckExperts(f.Strings("experts") ?? Array.Empty<string>(), "experts"),
        };
    }
}
