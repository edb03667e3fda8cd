using System.Text.Json.Nodes;
using TorchSharp;
using VDiTLens.IO;
using static TorchSharp.torch;

namespace VDiTLens.Text;

/// <summary>
/// A word-level vocabulary read from <c>vocab.json</c>:
/// <c>{"type": "word_level", "words": [...], "pad": 0, "eos": 1, "unk": 2, "lowercase": true}</c>; a word's id is
/// its index in <c>words</c>. Text is (optionally) lower-cased and split on everything that is not a letter (the
/// rule of the procedural captions' vocabulary, so punctuation, digits and whitespace all separate words and are
/// dropped); unknown words map to <c>unk</c>. Then EOS, truncation keeping EOS, right padding with <c>pad</c>.
/// </summary>
public sealed class WordLevelTokenizer : IPromptTokenizer
{
    public const string FileName = "vocab.json";
    public const string TypeName = "word_level";

    private readonly Dictionary<string, int> _ids;

    public IReadOnlyList<string> Words { get; }
    public int PadId { get; }
    public int EosId { get; }
    public int UnkId { get; }
    public bool Lowercase { get; }
    public string Source { get; }
    public int VocabularySize => Words.Count;
    public int? ModelMaxLength { get; init; }

    public WordLevelTokenizer(IReadOnlyList<string> words, int padId, int eosId, int unkId, bool lowercase, string source = "word list")
    {
        Source = source;
        Words = words;
        Lowercase = lowercase;
        PadId = CheckId(padId, "pad");
        EosId = CheckId(eosId, "eos");
        UnkId = CheckId(unkId, "unk");
        _ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < words.Count; i++)
            if (!_ids.TryAdd(words[i], i))
                throw new VDiTLensException($"{source}: field 'words' lists '{words[i]}' twice (ids {_ids[words[i]]} and {i}); words must be unique");
    }

    /// <summary>Reads a <c>vocab.json</c> file, or a folder holding one.</summary>
    public static WordLevelTokenizer FromFile(string path)
    {
        string file = Directory.Exists(path) ? Path.Combine(path, FileName) : path;
        var json = ModelFolder.ReadJsonObject(file);
        string? type = json["type"] is JsonValue t && t.TryGetValue(out string? s) ? s : null;
        if (type != TypeName)
            throw new VDiTLensException($"{file}: field 'type' is '{type ?? "missing"}'; only \"{TypeName}\" vocabularies are supported here");
        if (json["words"] is not JsonArray array || array.Count == 0)
            throw new VDiTLensException($"{file}: field 'words' must be a non-empty list of strings");
        var words = array.Select((w, i) => w is JsonValue v && v.TryGetValue(out string? word) ? word
            : throw new VDiTLensException($"{file}: field 'words' entry {i} is not a string")).ToArray();
        return new WordLevelTokenizer(words, Id(json, "pad", 0, file), Id(json, "eos", 1, file), Id(json, "unk", 2, file),
            json["lowercase"] is not JsonValue l || l.GetValue<bool>(), file)
        {
            ModelMaxLength = json["model_max_length"] is JsonValue m && m.TryGetValue(out int max) && max > 0 ? max : null,
        };
    }

    /// <summary>The words of <paramref name="text"/> as this tokenizer splits them (maximal runs of letters).</summary>
    public IReadOnlyList<string> Split(string text)
    {
        var words = new List<string>();
        int start = -1;
        for (int i = 0; i <= text.Length; i++)
        {
            bool letter = i < text.Length && char.IsLetter(text[i]);
            if (letter && start < 0) start = i;
            else if (!letter && start >= 0)
            {
                string word = text[start..i];
                words.Add(Lowercase ? word.ToLowerInvariant() : word);
                start = -1;
            }
        }
        return words;
    }

    /// <summary>Ids of the words then EOS, not padded; truncated to <paramref name="maxLength"/> (EOS kept) if given.</summary>
    public int[] EncodeIds(string text, int? maxLength = null)
    {
        var words = Split(text);
        int keep = maxLength is { } m ? Math.Min(words.Count, m - 1) : words.Count;
        var ids = new int[keep + 1];
        for (int i = 0; i < keep; i++) ids[i] = _ids.TryGetValue(words[i], out int id) ? id : UnkId;
        ids[keep] = EosId;
        return ids;
    }

    public TokenizedBatch Encode(IReadOnlyList<string> texts, int maxLength) =>
        TokenizedBatch.Pad(texts.Select(t => EncodeIds(t, Math.Max(maxLength, 1))).ToList(), maxLength, PadId);

    /// <summary>Each id's word (special words such as &lt;/s&gt; by name).</summary>
    public string[] TokenTexts(IReadOnlyList<long> ids) => ids.Select(id => id >= 0 && id < Words.Count ? Words[(int)id]
        : throw new VDiTLensException($"{Source}: token id {id} is outside 'words' ({Words.Count} words)")).ToArray();

    private int CheckId(int id, string field)
    {
        if (id < 0 || id >= Words.Count)
            throw new VDiTLensException($"{Source}: field '{field}' = {id} is not an index into 'words' ({Words.Count} words)");
        return id;
    }

    private static int Id(JsonObject json, string field, int fallback, string file)
    {
        if (json[field] is null) return fallback;
        return json[field] is JsonValue v && v.TryGetValue(out int id) ? id
            : throw new VDiTLensException($"{file}: field '{field}' must be an integer id");
    }
}
