using System.Text;
using System.Text.Json.Nodes;
using VDiTLens.IO;

namespace VDiTLens.Text.Bpe;

/// <summary>
/// CLIP's tokenizer (transformers' <c>CLIPTokenizer</c>, the one HunyuanVideo's <c>tokenizer_2</c> is) from
/// <c>vocab.json</c> + <c>merges.txt</c>: text NFC-normalised, whitespace runs made one space, lower-cased
/// (per character, as Rust's <c>char::to_lowercase</c>); split with CLIP's regex keeping only the matches; byte-level
/// BPE with the end-of-word suffix <c>&lt;/w&gt;</c>; <c>&lt;|startoftext|&gt;</c> … <c>&lt;|endoftext|&gt;</c> around it;
/// padded with <c>pad_token</c> (<c>&lt;|endoftext|&gt;</c> by default).
/// </summary>
public static class ClipTokenizer
{
    public const string VocabFile = "vocab.json", MergesFile = "merges.txt";
    public const string Pattern = @"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+";

    private static readonly CodePointRegex Whitespace = new(@"\s+");

    /// <summary>Whether <paramref name="folder"/> holds a CLIP BPE vocabulary (vocab.json with merges.txt).</summary>
    public static bool IsClipFolder(string folder) => File.Exists(Path.Combine(folder, VocabFile)) && File.Exists(Path.Combine(folder, MergesFile));

    public static ByteLevelBpeTokenizer FromFolder(string folder)
    {
        if (!IsClipFolder(folder))
            throw new VDiTLensException($"{folder}: a CLIP tokenizer needs {VocabFile} and {MergesFile}");
        var settings = TokenizerSettings.Read(folder);
        string vocabFile = Path.Combine(folder, VocabFile);
        var json = ModelFolder.ReadJsonObject(vocabFile);
        var vocab = new Dictionary<string, int>(json.Count, StringComparer.Ordinal);
        foreach (var (token, node) in json)
            vocab[token] = node is JsonValue v && v.TryGetValue(out int id) ? id
                : throw new VDiTLensException($"{vocabFile}: the id of '{token}' is not an integer");
        var merges = ReadMerges(Path.Combine(folder, MergesFile));
        string bos = settings.SpecialTokens.GetValueOrDefault("bos_token", "<|startoftext|>");
        string eos = settings.SpecialTokens.GetValueOrDefault("eos_token", "<|endoftext|>");
        string pad = settings.SpecialTokens.GetValueOrDefault("pad_token", "<|endoftext|>");
        string unk = settings.SpecialTokens.GetValueOrDefault("unk_token", "<|endoftext|>");
        int Id(string token, string role) => vocab.TryGetValue(token, out int id) ? id
            : throw new VDiTLensException($"{vocabFile}: the {role} '{token}' is not in the vocabulary");
        var added = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (token, role) in new[] { (bos, "bos_token"), (eos, "eos_token"), (pad, "pad_token"), (unk, "unk_token") })
            added[token] = Id(token, role);
        var model = new BpeModel(vocab, merges, "</w>", ignoreMerges: false, unk, vocabFile);
        var template = new SpecialTokenTemplate(new[] { added[bos] }, new[] { added[eos] });
        return new ByteLevelBpeTokenizer(model, new AddedTokens(added), Normalize,
            new[] { new RegexSplit(new CodePointRegex(Pattern), KeepGaps: false, KeepMatches: true) },
            template, added[pad], settings.PadLeft, settings.ModelMaxLength ?? 77, vocabFile);
    }

    /// <summary>NFC, every whitespace run → one space, lower case per code point (U+0130 → "i̇" as Rust does).</summary>
    public static string Normalize(string text)
    {
        string nfc = text.Normalize(NormalizationForm.FormC);
        var spaced = new StringBuilder(nfc.Length);
        int last = 0;
        foreach (var (start, length) in Whitespace.Matches(nfc))
        {
            spaced.Append(nfc, last, start - last).Append(' ');
            last = start + length;
        }
        spaced.Append(nfc, last, nfc.Length - last);
        var lower = new StringBuilder(spaced.Length);
        foreach (var rune in spaced.ToString().EnumerateRunes())
        {
            if (rune.Value == 0x130) lower.Append("i\u0307");
            else lower.Append(Rune.ToLowerInvariant(rune).ToString());
        }
        return lower.ToString();
    }

    /// <summary>merges.txt: one "left right" pair a line; a first line starting with "#version" is a header.</summary>
    public static List<(string, string)> ReadMerges(string file)
    {
        var merges = new List<(string, string)>();
        int lineNumber = 0;
        foreach (var line in File.ReadLines(file, Encoding.UTF8))
        {
            lineNumber++;
            if (line.Length == 0 || (lineNumber == 1 && line.StartsWith("#version", StringComparison.Ordinal))) continue;
            var parts = line.Split(' ');
            if (parts.Length != 2)
                throw new VDiTLensException($"{file}: line {lineNumber} is not a merge of two symbols separated by one space");
            merges.Add((parts[0], parts[1]));
        }
        return merges;
    }
}
