namespace VDiTLens.Text.Bpe;

/// <summary>
/// A byte-pair-encoding vocabulary and its ranked merges (Hugging Face tokenizers' <c>BPE</c> model): a word is split
/// into characters (the last one carrying <see cref="EndOfWordSuffix"/>, as CLIP's "&lt;/w&gt;"), then the adjacent
/// pair of lowest rank is merged until none is left; with <see cref="IgnoreMerges"/> a word that is itself in the
/// vocabulary is taken whole (Llama 3).
/// </summary>
public sealed class BpeModel
{
    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<(string, string), int> _ranks;

    public IReadOnlyDictionary<string, int> Vocab => _vocab;
    public int MergeCount => _ranks.Count;
    public string? EndOfWordSuffix { get; }
    public bool IgnoreMerges { get; }
    public int? UnkId { get; }
    public string Source { get; }

    public BpeModel(Dictionary<string, int> vocab, IReadOnlyList<(string Left, string Right)> merges, string? endOfWordSuffix,
        bool ignoreMerges, string? unkToken, string source)
    {
        Source = source;
        _vocab = vocab;
        EndOfWordSuffix = string.IsNullOrEmpty(endOfWordSuffix) ? null : endOfWordSuffix;
        IgnoreMerges = ignoreMerges;
        if (unkToken is not null)
            UnkId = vocab.TryGetValue(unkToken, out int unk) ? unk
                : throw new VDiTLensException($"{source}: unk_token '{unkToken}' is not in the vocabulary");
        _ranks = new Dictionary<(string, string), int>(merges.Count);
        for (int rank = 0; rank < merges.Count; rank++)
        {
            var (left, right) = merges[rank];
            if (!vocab.ContainsKey(left + right))
                throw new VDiTLensException($"{source}: merge {rank} ('{left}' '{right}') makes '{left + right}', which is not in the vocabulary");
            _ranks.TryAdd((left, right), rank); // a repeated merge keeps its first rank, as tokenizers does
        }
    }

    /// <summary>The ids of one pre-tokenized word (already in the vocabulary's alphabet).</summary>
    public void Encode(string word, List<int> ids)
    {
        if (word.Length == 0) return;
        if (IgnoreMerges && _vocab.TryGetValue(word, out int whole))
        {
            ids.Add(whole);
            return;
        }
        var symbols = Symbols(word);
        while (symbols.Count > 1)
        {
            int best = int.MaxValue;
            for (int i = 0; i + 1 < symbols.Count; i++)
                if (_ranks.TryGetValue((symbols[i], symbols[i + 1]), out int rank) && rank < best) best = rank;
            if (best == int.MaxValue) break;
            var merged = new List<string>(symbols.Count);
            for (int i = 0; i < symbols.Count; i++)
            {
                if (i + 1 < symbols.Count && _ranks.TryGetValue((symbols[i], symbols[i + 1]), out int rank) && rank == best)
                {
                    merged.Add(symbols[i] + symbols[i + 1]);
                    i++;
                }
                else
                {
                    merged.Add(symbols[i]);
                }
            }
            symbols = merged;
        }
        foreach (var symbol in symbols)
        {
            if (_vocab.TryGetValue(symbol, out int id)) ids.Add(id);
            else if (UnkId is { } unk) ids.Add(unk);
            else throw new VDiTLensException($"{Source}: the symbol '{symbol}' is not in the vocabulary and the model has no unk_token");
        }
    }

    private List<string> Symbols(string word)
    {
        var symbols = new List<string>(word.Length);
        for (int i = 0; i < word.Length; i += char.IsSurrogatePair(word, i) ? 2 : 1)
            symbols.Add(word.Substring(i, char.IsSurrogatePair(word, i) ? 2 : 1));
        if (EndOfWordSuffix is { } suffix) symbols[^1] += suffix;
        return symbols;
    }
}
