using System.Text.Json.Nodes;
using VDiTLens.IO;

namespace VDiTLens.Text.Bpe;

/// <summary>
/// The parts of a transformers tokenizer folder's <c>tokenizer_config.json</c> (and <c>special_tokens_map.json</c>)
/// that change ids: the special tokens by role, <c>padding_side</c>, <c>truncation_side</c> and <c>model_max_length</c>.
/// </summary>
public sealed record TokenizerSettings(IReadOnlyDictionary<string, string> SpecialTokens, bool PadLeft, int? ModelMaxLength)
{
    public static TokenizerSettings Read(string folder)
    {
        var tokens = new Dictionary<string, string>(StringComparer.Ordinal);
        var config = Optional(Path.Combine(folder, "tokenizer_config.json"));
        var map = Optional(Path.Combine(folder, "special_tokens_map.json"));
        foreach (var source in new[] { map, config })
            foreach (var role in new[] { "bos_token", "eos_token", "pad_token", "unk_token" })
                if (source?[role] is { } node && Content(node) is { } content)
                    tokens[role] = content;
        string file = Path.Combine(folder, "tokenizer_config.json");
        string padding = StringField(config, "padding_side") ?? "right";
        if (padding is not ("right" or "left"))
            throw new VDiTLensException($"{file}: padding_side '{padding}' must be \"right\" or \"left\"");
        string truncation = StringField(config, "truncation_side") ?? "right";
        if (truncation != "right")
            throw new VDiTLensException($"{file}: truncation_side '{truncation}' is not supported (only \"right\", transformers' default)");
        int? max = config?["model_max_length"] is JsonValue v && v.TryGetValue(out double m) && m > 0 && m < 1e9 ? (int)m : null;
        return new TokenizerSettings(tokens, padding == "left", max);
    }

    /// <summary>The id of the special token with <paramref name="role"/> (e.g. pad_token), looked up in <paramref name="ids"/>.</summary>
    public int? IdOf(string role, Func<string, int?> ids) => SpecialTokens.TryGetValue(role, out var content) ? ids(content) : null;

    private static JsonObject? Optional(string file) => File.Exists(file) ? ModelFolder.ReadJsonObject(file) : null;

    private static string? StringField(JsonObject? o, string field) => o?[field] is JsonValue v && v.TryGetValue(out string? s) ? s : null;

    private static string? Content(JsonNode node) => node switch
    {
        JsonValue v when v.TryGetValue(out string? s) => s,
        JsonObject o => StringField(o, "content"),
        _ => null,
    };
}
