using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Text.Bpe;

/// <summary>One regex split of the pre-tokenizer: <c>Isolated</c> keeps matches and the text between them as pieces, <c>Removed</c> (inverted) keeps only the matches.</summary>
public sealed record RegexSplit(CodePointRegex Regex, bool KeepGaps, bool KeepMatches);

/// <summary>
/// A byte-level BPE tokenizer as Hugging Face tokenizers runs one: normalise, cut at added (special) tokens,
/// pre-tokenize each remaining segment with regex splits, map each piece's UTF-8 bytes to the byte alphabet, apply
/// the BPE model, add the post-processor's special tokens, then truncate and pad as transformers'
/// <c>tok(texts, padding="max_length", max_length=N, truncation=True)</c>. Built from a Llama 3 style
/// <c>tokenizer.json</c> (<see cref="BpeTokenizerJson"/>) or a CLIP <c>vocab.json</c> + <c>merges.txt</c> (<see cref="ClipTokenizer"/>).
/// </summary>
public sealed class ByteLevelBpeTokenizer : IPromptTokenizer
{
    private readonly Func<string, string>? _normalize;
    private readonly IReadOnlyList<RegexSplit> _splits;
    private readonly Lazy<Dictionary<int, string>> _tokens;

    public BpeModel Model { get; }
    public AddedTokens Added { get; }
    public SpecialTokenTemplate Template { get; }
    public int PadId { get; }
    public bool PadLeft { get; }
    public string Source { get; }
    public int VocabularySize { get; }
    public int? ModelMaxLength { get; }

    public ByteLevelBpeTokenizer(BpeModel model, AddedTokens added, Func<string, string>? normalize, IReadOnlyList<RegexSplit> splits,
        SpecialTokenTemplate template, int padId, bool padLeft, int? modelMaxLength, string source)
    {
        Model = model;
        Added = added;
        _normalize = normalize;
        _splits = splits;
        Template = template;
        PadId = padId;
        PadLeft = padLeft;
        ModelMaxLength = modelMaxLength;
        Source = source;
        _tokens = new(() =>
        {
            var tokens = model.Vocab.ToDictionary(kv => kv.Value, kv => kv.Key);
            foreach (var (token, id) in added.Ids) tokens[id] = token;
            return tokens;
        });
        VocabularySize = Math.Max(model.Vocab.Values.DefaultIfEmpty(-1).Max(), added.Ids.Values.DefaultIfEmpty(-1).Max()) + 1;
    }

    /// <summary>The ids of <paramref name="text"/> without special tokens added around it (<c>add_special_tokens=False</c>).</summary>
    public List<int> EncodeText(string text)
    {
        var ids = new List<int>();
        foreach (var (segment, addedId) in Added.Split(text))
        {
            if (addedId is { } id)
            {
                ids.Add(id);
                continue;
            }
            string normalized = _normalize is null ? segment : _normalize(segment);
            foreach (var piece in PreTokenize(normalized))
                Model.Encode(ByteLevelAlphabet.Encode(piece), ids);
        }
        return ids;
    }

    /// <summary>The ids transformers gives with special tokens, optionally truncated to <paramref name="maxLength"/> (specials kept).</summary>
    public int[] EncodeIds(string text, int? maxLength = null) => Template.Apply(EncodeText(text), maxLength, Source);

    public TokenizedBatch Encode(IReadOnlyList<string> texts, int maxLength)
    {
        var rows = texts.Select(t => EncodeIds(t, maxLength)).ToList();
        if (!PadLeft) return TokenizedBatch.Pad(rows, maxLength, PadId);
        var ids = new long[rows.Count * maxLength];
        var mask = new long[rows.Count * maxLength];
        Array.Fill(ids, PadId);
        for (int b = 0; b < rows.Count; b++)
        {
            int offset = maxLength - rows[b].Length;
            for (int i = 0; i < rows[b].Length; i++)
            {
                ids[b * maxLength + offset + i] = rows[b][i];
                mask[b * maxLength + offset + i] = 1;
            }
        }
        var shape = new long[] { rows.Count, maxLength };
        return new TokenizedBatch(torch.tensor(ids, shape, ScalarType.Int64), torch.tensor(mask, shape, ScalarType.Int64));
    }

    /// <summary>
    /// Each id's bytes as UTF-8 text (<see cref="TokenText.FromUtf8"/>), CLIP's end-of-word suffix as a trailing
    /// space; added (special) tokens by name.
    /// </summary>
    public string[] TokenTexts(IReadOnlyList<long> ids) => ids.Select(id =>
    {
        if (!_tokens.Value.TryGetValue((int)id, out var token))
            throw new VDiTLensException($"{Source}: token id {id} is not in the vocabulary");
        if (Added.Ids.ContainsKey(token)) return token;
        string suffix = "";
        if (Model.EndOfWordSuffix is { } end && token.EndsWith(end, StringComparison.Ordinal))
            (token, suffix) = (token[..^end.Length], " ");
        return TokenText.FromUtf8(ByteLevelAlphabet.Decode(token)) + suffix;
    }).ToArray();

    private IEnumerable<string> PreTokenize(string text)
    {
        IEnumerable<string> pieces = new[] { text };
        foreach (var split in _splits)
            pieces = pieces.SelectMany(p => Split(p, split)).ToList();
        return pieces.Where(p => p.Length > 0);
    }

    private static IEnumerable<string> Split(string text, RegexSplit split)
    {
        int last = 0;
        foreach (var (start, length) in split.Regex.Matches(text))
        {
            if (split.KeepGaps && start > last) yield return text[last..start];
            if (split.KeepMatches) yield return text.Substring(start, length);
            last = start + length;
        }
        if (split.KeepGaps && last < text.Length) yield return text[last..];
    }
}
