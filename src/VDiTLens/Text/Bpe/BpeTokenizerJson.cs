using System.Text.Json.Nodes;
using VDiTLens.IO;

namespace VDiTLens.Text.Bpe;

/// <summary>
/// Reads a byte-level BPE <c>tokenizer.json</c> (Llama 3, as HunyuanVideo's <c>tokenizer/</c>): model BPE (vocab,
/// merges as "a b" strings or [a, b] pairs, <c>ignore_merges</c>), no normalizer, a pre-tokenizer of regex
/// <c>Split</c>s and a <c>ByteLevel</c> step (its GPT-2 regex when <c>use_regex</c>), added tokens, and the
/// post-processor's special tokens (TemplateProcessing, RobertaProcessing or BertProcessing, alone or in a Sequence).
/// Padding and <c>pad_token</c> come from <c>tokenizer_config.json</c> as in transformers. Anything else is refused by name.
/// </summary>
public static class BpeTokenizerJson
{
    public const string FileName = "tokenizer.json";

    /// <summary>GPT-2's pre-tokenizer regex, which <c>ByteLevel(use_regex=true)</c> applies.</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    /// <summary>Whether <paramref name="folder"/>'s tokenizer.json holds a BPE model.</summary>
    public static bool IsBpe(string folder)
    {
        string file = Path.Combine(folder, FileName);
        return File.Exists(file) && ModelFolder.ReadJsonObject(file)["model"]?["type"]?.GetValue<string>() == "BPE";
    }

    public static ByteLevelBpeTokenizer FromFolder(string folder)
    {
        string file = Path.Combine(folder, FileName);
        var root = ModelFolder.ReadJsonObject(file);
        var model = root["model"] as JsonObject ?? throw new VDiTLensException($"{file}: no 'model' object");
        string type = model["type"]?.GetValue<string>() ?? "missing";
        if (type != "BPE") throw new VDiTLensException($"{file}: model.type '{type}' is not BPE");
        if (model["byte_fallback"] is JsonValue bf && bf.GetValue<bool>())
            throw new VDiTLensException($"{file}: model.byte_fallback is true (a SentencePiece-style BPE); only byte-level BPE tokenizers (Llama 3, GPT-2) are supported");
        if (model["dropout"] is JsonValue d && d.GetValue<double>() > 0)
            throw new VDiTLensException($"{file}: model.dropout is {d}; BPE dropout is random and not used at inference");
        if (model["continuing_subword_prefix"] is JsonValue p && p.GetValue<string>() != "")
            throw new VDiTLensException($"{file}: model.continuing_subword_prefix '{p}' is not supported");
        if (root["normalizer"] is JsonObject normalizer)
            throw new VDiTLensException($"{file}: normalizer '{normalizer["type"]}' is not supported for a byte-level BPE tokenizer (Llama 3 has none)");

        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (token, node) in model["vocab"] as JsonObject ?? throw new VDiTLensException($"{file}: model.vocab is missing"))
            vocab[token] = node!.GetValue<int>();
        var merges = new List<(string, string)>();
        foreach (var entry in model["merges"] as JsonArray ?? new JsonArray())
            merges.Add(entry switch
            {
                JsonValue v when v.TryGetValue(out string? s) && s.Split(' ') is { Length: 2 } parts => (parts[0], parts[1]),
                JsonArray { Count: 2 } pair => (pair[0]!.GetValue<string>(), pair[1]!.GetValue<string>()),
                _ => throw new VDiTLensException($"{file}: model.merges entry {merges.Count} is neither \"a b\" nor [a, b]"),
            });
        var bpe = new BpeModel(vocab, merges, model["end_of_word_suffix"]?.GetValue<string>(),
            model["ignore_merges"] is JsonValue im && im.GetValue<bool>(), model["unk_token"]?.GetValue<string>(), file);

        var added = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var token in root["added_tokens"] as JsonArray ?? new JsonArray())
        {
            string content = token!["content"]!.GetValue<string>();
            foreach (var flag in new[] { "lstrip", "rstrip", "single_word" })
                if (token[flag] is JsonValue f && f.GetValue<bool>())
                    throw new VDiTLensException($"{file}: added token '{content}' has {flag} = true, which is not supported");
            added[content] = token["id"]!.GetValue<int>();
        }

        var settings = TokenizerSettings.Read(folder);
        int? IdOf(string content) => added.TryGetValue(content, out int a) ? a : vocab.TryGetValue(content, out int v) ? v : null;
        int padId = settings.IdOf("pad_token", IdOf) ?? (root["padding"]?["pad_id"]?.GetValue<int>())
            ?? throw new VDiTLensException($"{folder}: the tokenizer has no pad_token (tokenizer_config.json); padding to max_length needs one");
        return new ByteLevelBpeTokenizer(bpe, new AddedTokens(added), null, PreTokenizer(root["pre_tokenizer"], file),
            Template(root["post_processor"], file), padId, settings.PadLeft, settings.ModelMaxLength, file);
    }

    private static List<RegexSplit> PreTokenizer(JsonNode? node, string file)
    {
        var steps = node is JsonObject o && o["type"]?.GetValue<string>() == "Sequence"
            ? (o["pretokenizers"] as JsonArray ?? new JsonArray()).Select(s => s!).ToList()
            : node is null ? new List<JsonNode>() : new List<JsonNode> { node };
        var splits = new List<RegexSplit>();
        bool byteLevel = false;
        foreach (var step in steps)
        {
            string type = step["type"]?.GetValue<string>() ?? "missing";
            switch (type)
            {
                case "Split":
                    var pattern = step["pattern"] as JsonObject;
                    string regex = pattern?["Regex"]?.GetValue<string>()
                        ?? (pattern?["String"]?.GetValue<string>() is { } literal ? System.Text.RegularExpressions.Regex.Escape(literal)
                            : throw new VDiTLensException($"{file}: pre_tokenizer Split has no pattern"));
                    bool invert = step["invert"] is JsonValue inv && inv.GetValue<bool>();
                    string behavior = step["behavior"]?.GetValue<string>() ?? "missing";
                    splits.Add(behavior switch
                    {
                        "Isolated" => new RegexSplit(new CodePointRegex(regex), KeepGaps: true, KeepMatches: true),
                        "Removed" => new RegexSplit(new CodePointRegex(regex), KeepGaps: invert, KeepMatches: !invert),
                        _ => throw new VDiTLensException($"{file}: pre_tokenizer Split behavior '{behavior}' is not supported (Isolated, Removed)"),
                    });
                    break;
                case "ByteLevel":
                    if (step["add_prefix_space"] is JsonValue aps && aps.GetValue<bool>())
                        throw new VDiTLensException($"{file}: pre_tokenizer ByteLevel add_prefix_space = true is not supported");
                    if (step["use_regex"] is not JsonValue ur || ur.GetValue<bool>())
                        splits.Add(new RegexSplit(new CodePointRegex(Gpt2Pattern), KeepGaps: true, KeepMatches: true));
                    byteLevel = true;
                    break;
                default:
                    throw new VDiTLensException($"{file}: pre_tokenizer '{type}' is not supported (Split, ByteLevel)");
            }
        }
        if (!byteLevel)
            throw new VDiTLensException($"{file}: the pre_tokenizer has no ByteLevel step; only byte-level BPE tokenizers are supported");
        return splits;
    }

    private static SpecialTokenTemplate Template(JsonNode? node, string file)
    {
        if (node is null) return SpecialTokenTemplate.None;
        string type = node["type"]?.GetValue<string>() ?? "missing";
        switch (type)
        {
            case "Sequence":
                var found = (node["processors"] as JsonArray ?? new JsonArray())
                    .Select(p => Template(p, file)).Where(t => t.Count > 0).ToList();
                if (found.Count > 1) throw new VDiTLensException($"{file}: post_processor Sequence adds special tokens in more than one step");
                return found.FirstOrDefault() ?? SpecialTokenTemplate.None;
            case "ByteLevel":
                return SpecialTokenTemplate.None;
            case "RobertaProcessing":
            case "BertProcessing":
                int cls = node["cls"]![1]!.GetValue<int>(), sep = node["sep"]![1]!.GetValue<int>();
                return new SpecialTokenTemplate(new[] { cls }, new[] { sep });
            case "TemplateProcessing":
                var specials = node["special_tokens"] as JsonObject ?? new JsonObject();
                var prefix = new List<int>();
                var suffix = new List<int>();
                bool seenSequence = false;
                foreach (var piece in node["single"] as JsonArray ?? new JsonArray())
                {
                    if (piece?["Sequence"] is not null)
                    {
                        seenSequence = true;
                        continue;
                    }
                    string id = piece?["SpecialToken"]?["id"]?.GetValue<string>()
                        ?? throw new VDiTLensException($"{file}: post_processor template piece {piece} is neither Sequence nor SpecialToken");
                    var ids = specials[id]?["ids"] as JsonArray
                        ?? throw new VDiTLensException($"{file}: post_processor special token '{id}' has no ids");
                    (seenSequence ? suffix : prefix).AddRange(ids.Select(i => i!.GetValue<int>()));
                }
                return new SpecialTokenTemplate(prefix.ToArray(), suffix.ToArray());
            default:
                throw new VDiTLensException($"{file}: post_processor '{type}' is not supported (TemplateProcessing, RobertaProcessing, BertProcessing, ByteLevel)");
        }
    }
}
