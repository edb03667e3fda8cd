namespace VDiTLens.Training.LanguageModel;

/// <summary>
/// The copy/reverse/count token language (<c>--language copy-reverse-count</c>). A sequence is <c>&lt;bos&gt;</c> followed by
/// examples packed back to back and cut at the sequence length. An example is a task word, 2–8 random symbols, a
/// separator and the answer, then <c>&lt;eos&gt;</c>:
/// <list type="bullet">
/// <item><c>copy a b c : a b c &lt;eos&gt;</c></item>
/// <item><c>reverse a b c : c b a &lt;eos&gt;</c></item>
/// <item><c>count a b c : 3 &lt;eos&gt;</c></item>
/// </list>
/// The task word and the first symbol are uniform random; each next symbol is the current one's fixed successor
/// (s → (5s + 3) mod 16) with probability <see cref="FollowSuccessor"/>, otherwise uniform, so most symbols are predictable
/// from the current token alone. Every answer needs attention to a definite earlier position; at the budgets measured
/// (docs/sinks.md) the heads stay busy and no first-token sink forms, unlike <see cref="BigramBackcopyLanguage"/>.
/// Every sequence of a run is a function of (seed, step, row).
/// </summary>
public static class TokenLanguage
{
    public const string LanguageName = "copy-reverse-count";

    /// <summary>This language as an <see cref="ITokenLanguage"/>.</summary>
    public static ITokenLanguage Instance { get; } = new Language();

    /// <summary>The grammar in one paragraph, as <c>training.json</c> records it.</summary>
    public static string Description =>
        "<bos>, then examples packed back to back and cut at the sequence length: a task word (copy, reverse, count), " +
        $"{MinSymbols}-{MaxSymbols} symbols (the first uniform, each next one the previous one's successor (5s + 3) mod 16 " +
        $"with probability {FollowSuccessor}, else uniform), ':', the answer (the symbols, reversed, or their count), <eos>";

    public const int Bos = 0, Eos = 1, Separator = 2, Copy = 3, Reverse = 4, Count = 5;
    public const int FirstDigit = 6, MinSymbols = 2, MaxSymbols = 8;
    public const int FirstSymbol = FirstDigit + MaxSymbols, SymbolCount = 16;

    /// <summary>Probability that a symbol is its predecessor's successor rather than uniform random.</summary>
    public const double FollowSuccessor = 0.75;

    /// <summary>The fixed successor of symbol index s (0 … 15): a permutation of the symbols.</summary>
    public static int Successor(int s) => (5 * s + 3) % SymbolCount;

    /// <summary>Size of the vocabulary (ids 0 … VocabularySize − 1).</summary>
    public const int VocabularySize = FirstSymbol + SymbolCount;

    /// <summary>The name of every token, by id.</summary>
    public static IReadOnlyList<string> Tokens { get; } =
        new[] { "<bos>", "<eos>", ":", "copy", "reverse", "count" }
            .Concat(Enumerable.Range(1, MaxSymbols).Select(n => n.ToString()))
            .Concat(Enumerable.Range(0, SymbolCount).Select(i => ((char)('a' + i)).ToString()))
            .ToArray();

    /// <summary>One sequence of <paramref name="length"/> ids and, per position, whether the token is part of an answer (after a separator).</summary>
    public static (long[] Ids, bool[] Answer) Sample(Random random, int length)
    {
        if (length < 2) throw new VDiTLensException($"sequence length {length}: must be at least 2 (<bos> and one token)");
        var ids = new List<long>(length + 2 * MaxSymbols + 3) { Bos };
        var answer = new List<bool>(ids.Capacity) { false };
        while (ids.Count < length)
        {
            int task = Copy + random.Next(3);
            var symbols = new long[random.Next(MinSymbols, MaxSymbols + 1)];
            int symbol = random.Next(SymbolCount);
            for (int i = 0; i < symbols.Length; i++)
            {
                if (i > 0) symbol = random.NextDouble() < FollowSuccessor ? Successor(symbol) : random.Next(SymbolCount);
                symbols[i] = FirstSymbol + symbol;
            }
            long[] reply = task switch
            {
                Copy => symbols,
                Reverse => symbols.Reverse().ToArray(),
                _ => new long[] { FirstDigit + symbols.Length - 1 },
            };
            foreach (long id in new long[] { task }.Concat(symbols).Append(Separator)) { ids.Add(id); answer.Add(false); }
            foreach (long id in reply.Append(Eos)) { ids.Add(id); answer.Add(true); }
        }
        return (ids.Take(length).ToArray(), answer.Take(length).ToArray());
    }

    private sealed class Language : ITokenLanguage
    {
        public string Name => LanguageName;
        public IReadOnlyList<string> Tokens => TokenLanguage.Tokens;
        public long Bos => TokenLanguage.Bos;
        public long? Eos => TokenLanguage.Eos;
        public string Description => TokenLanguage.Description;
        public (long[] Ids, bool[] Answer) Sample(Random random, int length) => TokenLanguage.Sample(random, length);
        public double[]? Entropies(long[] ids) => null;
    }
}
