using System.Text.Json;
using System.Text.Json.Nodes;
using VDiTLens.Attention;

namespace VDiTLens.Interventions.Config;

/// <summary>
/// The fields of one intervention object with typed getters whose errors name the entry and the field. Every
/// field read is marked used; <see cref="EnsureAllUsed"/> then rejects unknown (e.g. misspelt) fields.
/// Getters return null when the field is absent (or JSON null).
/// </summary>
public sealed class SpecFields(JsonObject json, string where)
{
    private readonly HashSet<string> _used = new();

    /// <summary>"intervention #2 (bottom_k)", prefixing every error.</summary>
    public string Where { get; } = where;

    public VDiTLensException Error(string name, string problem) => new($"{Where}: field '{name}' {problem}");

    public string? String(string name) =>
        Node(name) is { } n ? (n.GetValueKind() == JsonValueKind.String ? n.GetValue<string>() : throw Error(name, "must be a string")) : null;

    public double? Double(string name) => Node(name) is { } n ? Number(n, name, "must be a number") : null;

    public double RequiredDouble(string name) => Double(name) ?? throw Error(name, "is required");

    public long? Long(string name) => Node(name) is { } n ? Integer(n, name, "must be an integer") : null;

    public long[]? Longs(string name) => Node(name) is { } n ? Items(n, name, "must be a list of integers").Select(x => Integer(x, name, "must be a list of integers")).ToArray() : null;

    public double[]? Doubles(string name) => Node(name) is { } n ? Items(n, name, "must be a list of numbers").Select(x => Number(x, name, "must be a list of numbers")).ToArray() : null;

    public string[]? Strings(string name) => Node(name) is { } n
        ? Items(n, name, "must be a list of strings").Select(x => x.GetValueKind() == JsonValueKind.String ? x.GetValue<string>() : throw Error(name, "must be a list of strings")).ToArray()
        : null;

    /// <summary>A number, or a list of numbers.</summary>
    public double[]? NumberOrNumbers(string name) =>
        Node(name) is { } n ? (n is JsonArray ? Doubles(name) : new[] { Number(n, name, "must be a number or a list of numbers") }) : null;

    /// <summary>[min, max] with integers or null for an open bound.</summary>
    public (long? Min, long? Max)? Range(string name)
    {
        if (Node(name) is not { } n) return null;
        const string expectation = "must be [min, max] (integers, or null for an open bound)";
        if (n is not JsonArray { Count: 2 } a) throw Error(name, expectation);
        long? Bound(JsonNode? x) => x is null ? null : Integer(x, name, expectation);
        var (min, max) = (Bound(a[0]), Bound(a[1]));
        if (min > max) throw Error(name, $"has min {min} above max {max}");
        return (min, max);
    }

    /// <summary>An index set: a string such as "10-20,25" (inclusive ranges) or a list of integers.</summary>
    public IndexSet? Indices(string name) => Node(name) switch
    {
        null => null,
        JsonArray => Longs(name)!.Select(v => v is >= 0 and <= int.MaxValue ? (int)v : throw Error(name, $"has {v}, not a non-negative index")).ToArray(),
        { } n when n.GetValueKind() == JsonValueKind.String => IndexSet.Parse(n.GetValue<string>(), $"{Where}: field '{name}'"),
        _ => throw Error(name, "must be a string such as \"10-20,25\" or a list of integers"),
    };

    /// <summary>[frames, height, width] of positive integers.</summary>
    public (int, int, int)? Triple(string name)
    {
        var values = Longs(name);
        if (values is null) return null;
        if (values.Length != 3 || values.Any(v => v < 1 || v > int.MaxValue)) throw Error(name, "must be three positive integers [frames, height, width]");
        return ((int)values[0], (int)values[1], (int)values[2]);
    }

    /// <summary>[[a, b], …] integer pairs.</summary>
    public (long, long)[]? Pairs(string name)
    {
        if (Node(name) is not { } n) return null;
        const string expectation = "must be a list of [target, source] integer pairs";
        return Items(n, name, expectation).Select(x => x is JsonArray { Count: 2 } p && p[0] is { } a && p[1] is { } b
            ? (Integer(a, name, expectation), Integer(b, name, expectation))
            : throw Error(name, expectation)).ToArray();
    }

    /// <summary>{"site": [positions], …}.</summary>
    public Dictionary<string, IReadOnlyList<long>>? ListsBySite(string name)
    {
        if (Node(name) is not { } n) return null;
        if (n is not JsonObject o) throw Error(name, "must be an object mapping site names to lists of key positions");
        return o.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<long>)(kv.Value is { } v
            ? Items(v, name, $"entry '{kv.Key}' must be a list of integers").Select(x => Integer(x, name, $"entry '{kv.Key}' must be a list of integers")).ToArray()
            : throw Error(name, $"entry '{kv.Key}' must be a list of integers")));
    }

    public void EnsureAllUsed()
    {
        var unknown = json.Select(kv => kv.Key).FirstOrDefault(k => !_used.Contains(k));
        if (unknown is not null)
            throw Error(unknown, $"is not a field of this type (known: {string.Join(", ", _used.Order())})");
    }

    private JsonNode? Node(string name)
    {
        _used.Add(name);
        return json[name];
    }

    private IEnumerable<JsonNode> Items(JsonNode n, string name, string expectation) =>
        n is JsonArray a ? a.Select(x => x ?? throw Error(name, expectation)).ToArray() : throw Error(name, expectation);

    private double Number(JsonNode n, string name, string expectation) =>
        n.GetValueKind() == JsonValueKind.Number ? n.GetValue<double>() : throw Error(name, expectation);

    private long Integer(JsonNode n, string name, string expectation)
    {
        double d = Number(n, name, expectation);
        return d == Math.Floor(d) && Math.Abs(d) < 1e15 ? (long)d : throw Error(name, expectation);
    }
}
