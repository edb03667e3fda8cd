using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using VDiTLens.IO;

namespace VDiTLens.Text;

/// <summary>
/// Reads a Hugging Face <c>tokenizer.json</c> holding a Unigram model (as converted from a SentencePiece T5/umT5
/// model) into the same pieces and specs a <c>spiece.model</c> gives: vocab with scores, the Precompiled
/// normaliser's charsmap, and whitespace handling from WhitespaceSplit / Metaspace / Strip / Replace.
/// </summary>
internal static partial class HfTokenizerJson
{
    public static (SentencePieceModel Model, int EosId, int PadId) Read(string file)
    {
        var root = ModelFolder.ReadJsonObject(file);
        var model = root["model"] as JsonObject ?? throw new VDiTLensException($"{file}: no 'model' object");
        string type = model["type"]?.GetValue<string>() ?? "";
        if (type != "Unigram")
            throw new VDiTLensException($"{file}: model.type '{type}' is not supported (only Unigram tokenizers, as T5/umT5 use)");
        var vocab = model["vocab"] as JsonArray ?? throw new VDiTLensException($"{file}: model.vocab is missing");
        int unkId = model["unk_id"]?.GetValue<int>() ?? throw new VDiTLensException($"{file}: model.unk_id is missing");
        bool byteFallback = model["byte_fallback"]?.GetValue<bool>() ?? false;

        var special = new HashSet<string>(StringComparer.Ordinal);
        foreach (var token in root["added_tokens"] as JsonArray ?? new JsonArray())
            if (token?["special"]?.GetValue<bool>() == true && token["content"]?.GetValue<string>() is { } content)
                special.Add(content);

        var pieces = new List<SentencePiece>(vocab.Count);
        foreach (var entry in vocab)
        {
            if (entry is not JsonArray { Count: 2 } pair)
                throw new VDiTLensException($"{file}: model.vocab entry {pieces.Count} is not a [piece, score] pair");
            string piece = pair[0]!.GetValue<string>();
            float score = (float)pair[1]!.GetValue<double>();
            var pieceType = pieces.Count == unkId ? PieceType.Unknown
                : special.Contains(piece) ? PieceType.Control
                : byteFallback && BytePiece().IsMatch(piece) ? PieceType.Byte
                : PieceType.Normal;
            pieces.Add(new SentencePiece(piece, score, pieceType));
        }

        var normalizer = new NormalizerSpec(
            Name: "precompiled",
            PrecompiledCharsmap: FindCharsmap(root["normalizer"], file),
            AddDummyPrefix: AddsPrefix(root["pre_tokenizer"]) || AddsPrefix(root["normalizer"]),
            RemoveExtraWhitespaces: Has(root["pre_tokenizer"], "WhitespaceSplit") || Has(root["normalizer"], "Strip") || Has(root["normalizer"], "Replace"),
            EscapeWhitespaces: true);

        int eosId = FindEos(root, pieces) ?? throw new VDiTLensException($"{file}: cannot find the end-of-sequence token (no TemplateProcessing special token and no '</s>' piece)");
        int padId = IndexOf(pieces, "<pad>") ?? (root["padding"]?["pad_id"]?.GetValue<int>())
            ?? throw new VDiTLensException($"{file}: cannot find the padding token (no '<pad>' piece and no padding.pad_id)");
        var trainer = new TrainerSpec(ModelType: SentencePieceModel.UnigramModelType, UnkId: unkId, BosId: -1, EosId: eosId, PadId: padId, ByteFallback: byteFallback);
        return (new SentencePieceModel(pieces, trainer, normalizer), eosId, padId);
    }

    private static byte[]? FindCharsmap(JsonNode? normalizer, string file)
    {
        foreach (var node in Flatten(normalizer, "normalizers"))
            if (node["type"]?.GetValue<string>() == "Precompiled")
            {
                string? base64 = node["precompiled_charsmap"]?.GetValue<string>();
                if (string.IsNullOrEmpty(base64)) return null;
                try { return Convert.FromBase64String(base64); }
                catch (FormatException) { throw new VDiTLensException($"{file}: normalizer.precompiled_charsmap is not valid base64"); }
            }
        return null;
    }

    private static bool AddsPrefix(JsonNode? node)
    {
        foreach (var n in Flatten(node, "pretokenizers").Concat(Flatten(node, "normalizers")))
        {
            string? type = n["type"]?.GetValue<string>();
            if (type == "Metaspace")
                return n["prepend_scheme"]?.GetValue<string>() is { } scheme ? scheme != "never" : n["add_prefix_space"]?.GetValue<bool>() ?? true;
            if (type == "Prepend") return true;
        }
        return false;
    }

    private static bool Has(JsonNode? node, string type) =>
        Flatten(node, "pretokenizers").Concat(Flatten(node, "normalizers")).Any(n => n["type"]?.GetValue<string>() == type);

    private static IEnumerable<JsonObject> Flatten(JsonNode? node, string listField)
    {
        if (node is not JsonObject obj) yield break;
        if (obj[listField] is JsonArray children)
        {
            foreach (var child in children)
                foreach (var inner in Flatten(child, listField))
                    yield return inner;
        }
        else yield return obj;
    }

    private static int? FindEos(JsonObject root, List<SentencePiece> pieces)
    {
        if (root["post_processor"] is JsonObject post && post["single"] is JsonArray single)
            foreach (var item in single)
                if (item?["SpecialToken"]?["id"]?.GetValue<string>() is { } name)
                {
                    var ids = post["special_tokens"]?[name]?["ids"] as JsonArray;
                    if (ids is { Count: 1 }) return ids[0]!.GetValue<int>();
                    return IndexOf(pieces, name);
                }
        return IndexOf(pieces, "</s>");
    }

    private static int? IndexOf(List<SentencePiece> pieces, string piece)
    {
        int index = pieces.FindIndex(p => p.Piece == piece);
        return index >= 0 ? index : null;
    }

    [GeneratedRegex("^<0x[0-9A-F]{2}>$")]
    private static partial Regex BytePiece();
}
