namespace VDiTLens.Training.LanguageModel;

/// <summary>
/// The Bigram-Backcopy language of Guo et al. 2024 ("Active-Dormant Attention Heads", arXiv 2410.13835), the setting in
/// which they find attention heads that are active on a few inputs and park on the first token everywhere else. A
/// sequence is <c>&lt;bos&gt;</c>, a uniform random word, then a Markov chain: after a word, the next token is drawn
/// from that word's row of a fixed transition matrix (<see cref="Transition"/>); after one of the
/// <see cref="TriggerCount"/> trigger tokens, the next token is a copy of the token just before the trigger (the
/// backcopy), and the chain goes on from it. Predicting a word needs only the current token; only the backcopy needs
/// attention (to the token two back), so a head that serves it has nothing to do at every other position.
/// The matrix is a function of <see cref="MatrixSeed"/> alone: each word row puts <see cref="TriggerProbability"/> on
/// the triggers (uniformly) and the rest on <see cref="Successors"/> words chosen uniformly without replacement, with
/// Dirichlet(1) weights.
/// </summary>
public sealed class BigramBackcopyLanguage : ITokenLanguage
{
    public const string LanguageName = "bigram-backcopy";
    public const int Bos = 0, FirstTrigger = 1, TriggerCount = 3, FirstWord = FirstTrigger + TriggerCount, WordCount = 61;
    public const int VocabularySize = FirstWord + WordCount;
    public const int Successors = 6;
    public const double TriggerProbability = 0.1;
    public const int MatrixSeed = 2410;

    public static BigramBackcopyLanguage Instance { get; } = new();

    private readonly double[][] _rows; // per word, the probability of each id (0 for <bos>)
    private readonly double[] _entropies;

    private BigramBackcopyLanguage()
    {
        var random = new Random(MatrixSeed);
        _rows = new double[WordCount][];
        for (int w = 0; w < WordCount; w++)
        {
            var row = new double[VocabularySize];
            for (int t = 0; t < TriggerCount; t++) row[FirstTrigger + t] = TriggerProbability / TriggerCount;
            var successors = Enumerable.Range(0, WordCount).OrderBy(_ => random.Next()).Take(Successors).ToArray();
            var weights = successors.Select(_ => -Math.Log(1 - random.NextDouble())).ToArray(); // Exp(1): normalised, Dirichlet(1)
            double total = weights.Sum();
            for (int i = 0; i < Successors; i++) row[FirstWord + successors[i]] = (1 - TriggerProbability) * weights[i] / total;
            _rows[w] = row;
        }
        _entropies = _rows.Select(r => -r.Where(p => p > 0).Sum(p => p * Math.Log(p))).ToArray();
        Tokens = new[] { "<bos>" }
            .Concat(Enumerable.Range(0, TriggerCount).Select(t => $"T{t}"))
            .Concat(Enumerable.Range(0, WordCount).Select(w => $"w{w:D2}"))
            .ToArray();
    }

    public string Name => LanguageName;
    public IReadOnlyList<string> Tokens { get; }
    long ITokenLanguage.Bos => Bos;
    public long? Eos => null;

    public string Description =>
        $"<bos>, a uniform random word, then a bigram Markov chain over {WordCount} words and {TriggerCount} triggers: after a word the next token " +
        $"follows the word's row of a fixed transition matrix (seed {MatrixSeed}: {TriggerProbability} on the triggers, the rest on {Successors} words with " +
        "Dirichlet(1) weights); after a trigger the next token is a copy of the token just before the trigger (backcopy), and the chain goes on from it";

    public static bool IsTrigger(long id) => id >= FirstTrigger && id < FirstWord;

    /// <summary>P(next = <paramref name="to"/> | current = <paramref name="from"/>) for a word <paramref name="from"/>.</summary>
    public double Transition(long from, long to)
    {
        if (from < FirstWord || from >= VocabularySize) throw new VDiTLensException($"bigram-backcopy transition from id {from}: only words (ids {FirstWord}–{VocabularySize - 1}) have a row");
        return _rows[from - FirstWord][to];
    }

    /// <summary>Entropy (nats) of a word's row.</summary>
    public double RowEntropy(long word) => _entropies[word - FirstWord];

    public (long[] Ids, bool[] Answer) Sample(Random random, int length)
    {
        if (length < 2) throw new VDiTLensException($"sequence length {length}: must be at least 2 (<bos> and one token)");
        var ids = new long[length];
        var answer = new bool[length];
        ids[0] = Bos;
        ids[1] = FirstWord + random.Next(WordCount);
        for (int t = 2; t < length; t++)
        {
            if (IsTrigger(ids[t - 1]))
            {
                ids[t] = ids[t - 2];
                answer[t] = true;
            }
            else ids[t] = Draw(_rows[ids[t - 1] - FirstWord], random.NextDouble());
        }
        return (ids, answer);
    }

    public double[]? Entropies(long[] ids)
    {
        var h = new double[ids.Length];
        h[0] = double.NaN;
        for (int t = 1; t < ids.Length; t++)
            h[t] = ids[t - 1] == Bos ? Math.Log(WordCount) : IsTrigger(ids[t - 1]) ? 0 : RowEntropy(ids[t - 1]);
        return h;
    }

    private static long Draw(double[] row, double u)
    {
        double cumulative = 0;
        int last = 0;
        for (int id = 0; id < row.Length; id++)
        {
            if (row[id] <= 0) continue;
            cumulative += row[id];
            last = id;
            if (u < cumulative) return id;
        }
        return last; // rounding: u just below 1
    }
}
