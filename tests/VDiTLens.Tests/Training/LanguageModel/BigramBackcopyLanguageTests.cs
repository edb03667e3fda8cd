using VDiTLens.Training.LanguageModel;
using L = VDiTLens.Training.LanguageModel.BigramBackcopyLanguage;

namespace VDiTLens.Tests.Training.LanguageModel;

/// <summary>The Bigram-Backcopy language: its backcopy rule, its bigram statistics against the matrix, and batches as a function of (seed, step).</summary>
public sealed class BigramBackcopyLanguageTests
{
    private static readonly L Language = L.Instance;

    [Fact]
    public void The_token_after_a_trigger_is_the_token_before_it_and_the_answer_mask_marks_exactly_those()
    {
        var (ids, answer) = Language.Sample(new Random(5), 5000);
        Assert.Equal(L.Bos, ids[0]);
        Assert.InRange(ids[1], L.FirstWord, L.VocabularySize - 1);
        Assert.DoesNotContain(L.Bos, ids[1..]);
        int triggers = 0;
        for (int t = 2; t < ids.Length; t++)
        {
            bool afterTrigger = L.IsTrigger(ids[t - 1]);
            Assert.Equal(afterTrigger, answer[t]);
            if (!afterTrigger) continue;
            triggers++;
            Assert.Equal(ids[t - 2], ids[t]);
            Assert.InRange(ids[t], L.FirstWord, L.VocabularySize - 1); // a word: a trigger never follows a trigger
        }
        Assert.False(answer[0] || answer[1]);
        // P(trigger) = 0.1 after each word; words are 1/1.1 of the chain: about 9 % of positions.
        Assert.InRange((double)triggers / ids.Length, 0.075, 0.105);
    }

    [Fact]
    public void Word_to_word_transitions_match_the_matrix()
    {
        var counts = new long[L.VocabularySize, L.VocabularySize];
        for (int s = 0; s < 400; s++)
        {
            var (ids, answer) = Language.Sample(new Random(1000 + s), 512);
            for (int t = 2; t < ids.Length; t++)
                if (!answer[t]) counts[ids[t - 1], ids[t]]++;
        }
        int rowsChecked = 0;
        for (long from = L.FirstWord; from < L.VocabularySize; from++)
        {
            long n = Enumerable.Range(0, L.VocabularySize).Sum(to => counts[from, to]);
            Assert.Equal(0, counts[from, L.Bos]);
            if (n < 1000) continue;
            rowsChecked++;
            for (long to = 0; to < L.VocabularySize; to++)
            {
                double p = Language.Transition(from, to), observed = (double)counts[from, to] / n;
                if (p == 0) Assert.Equal(0, counts[from, to]);
                else Assert.True(Math.Abs(observed - p) <= 5 * Math.Sqrt(p * (1 - p) / n), $"{from} → {to}: observed {observed:F4} over {n}, matrix {p:F4}");
            }
        }
        Assert.True(rowsChecked >= 40, $"{rowsChecked} rows with ≥ 1000 transitions");
    }

    [Fact]
    public void Each_word_row_is_a_distribution_with_the_trigger_share_and_its_successors()
    {
        for (long from = L.FirstWord; from < L.VocabularySize; from++)
        {
            var row = Enumerable.Range(0, L.VocabularySize).Select(to => Language.Transition(from, to)).ToArray();
            Assert.Equal(1.0, row.Sum(), 12);
            Assert.Equal(L.TriggerProbability, row[L.FirstTrigger..L.FirstWord].Sum(), 12);
            Assert.Equal(L.Successors, row[L.FirstWord..].Count(p => p > 0));
            Assert.Equal(-row.Where(p => p > 0).Sum(p => p * Math.Log(p)), Language.RowEntropy(from), 12);
        }
        var (ids, _) = Language.Sample(new Random(2), 300);
        var entropies = Language.Entropies(ids)!;
        Assert.Equal(Math.Log(L.WordCount), entropies[1], 12);
        for (int t = 2; t < ids.Length; t++)
            Assert.Equal(L.IsTrigger(ids[t - 1]) ? 0 : Language.RowEntropy(ids[t - 1]), entropies[t]);
    }

    [Fact]
    public void A_batch_is_a_function_of_seed_and_step_only_and_the_language_is_the_default()
    {
        var a = TokenLanguages.Batch(Language, seed: 3, step: 7, rows: 4, length: 32);
        Assert.Equal(a.Ids, TokenLanguages.Batch(Language, 3, 7, 4, 32).Ids);
        Assert.NotEqual(a.Ids, TokenLanguages.Batch(Language, 3, 8, 4, 32).Ids);
        Assert.NotEqual(a.Ids, TokenLanguages.Batch(Language, 4, 7, 4, 32).Ids);
        Assert.All(Enumerable.Range(0, 4), r => Assert.Equal(L.Bos, a.Ids[r * 32]));
        Assert.Same(Language, TokenLanguages.Default);
        Assert.Same(Language, TokenLanguages.Of("bigram-backcopy"));
        Assert.Equal(L.VocabularySize, Language.Tokens.Count);
        Assert.Equal(Language.Tokens.Count, Language.Tokens.Distinct().Count());
        Assert.Equal("<bos> w00 T1 w00", TokenLanguages.Describe(Language, new long[] { 0, L.FirstWord, 2, L.FirstWord }));
    }
}
