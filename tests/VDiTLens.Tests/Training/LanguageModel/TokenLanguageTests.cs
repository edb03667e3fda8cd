using VDiTLens.Training.LanguageModel;

namespace VDiTLens.Tests.Training.LanguageModel;

/// <summary>The procedural token language: its grammar, its answers, and batches as a function of (seed, step).</summary>
public sealed class TokenLanguageTests
{
    [Fact]
    public void Every_complete_example_answers_its_task_and_the_answer_mask_covers_exactly_the_answers()
    {
        const int length = 400;
        var (ids, answer) = TokenLanguage.Sample(new Random(5), length);
        Assert.Equal(TokenLanguage.Bos, ids[0]);
        Assert.All(ids, id => Assert.InRange(id, 0, TokenLanguage.VocabularySize - 1));
        int i = 1, examples = 0;
        var tasks = new HashSet<long>();
        while (true)
        {
            int separator = Array.IndexOf(ids, (long)TokenLanguage.Separator, i);
            if (separator < 0) break;
            int end = Array.IndexOf(ids, (long)TokenLanguage.Eos, separator);
            if (end < 0) break; // the last example is cut at the sequence length
            long task = ids[i];
            var symbols = ids[(i + 1)..separator];
            var reply = ids[(separator + 1)..end];
            Assert.InRange(symbols.Length, TokenLanguage.MinSymbols, TokenLanguage.MaxSymbols);
            Assert.All(symbols, s => Assert.InRange(s, TokenLanguage.FirstSymbol, TokenLanguage.VocabularySize - 1));
            long[] expected = task switch
            {
                TokenLanguage.Copy => symbols,
                TokenLanguage.Reverse => symbols.Reverse().ToArray(),
                TokenLanguage.Count => new long[] { TokenLanguage.FirstDigit + symbols.Length - 1 },
                _ => throw new Xunit.Sdk.XunitException($"position {i}: {TokenLanguages.Describe(TokenLanguage.Instance, new[] { task })} is not a task word"),
            };
            Assert.Equal(expected, reply);
            Assert.Equal(Enumerable.Repeat(false, separator - i + 1), answer[i..(separator + 1)]);
            Assert.Equal(Enumerable.Repeat(true, end - separator), answer[(separator + 1)..(end + 1)]);
            Assert.Equal(symbols.Length.ToString(), TokenLanguage.Tokens[(int)(TokenLanguage.FirstDigit + symbols.Length - 1)]);
            tasks.Add(task);
            examples++;
            i = end + 1;
        }
        Assert.True(examples >= 20, $"{examples} examples in {length} tokens");
        Assert.Equal(3, tasks.Count);
    }

    [Fact]
    public void Symbols_follow_their_fixed_successor_three_times_in_four()
    {
        var (ids, _) = TokenLanguage.Sample(new Random(11), 20_000);
        int pairs = 0, follow = 0;
        bool question = false; // between a task word and its separator
        for (int i = 1; i < ids.Length; i++)
        {
            if (ids[i] is TokenLanguage.Copy or TokenLanguage.Reverse or TokenLanguage.Count && ids[i - 1] is TokenLanguage.Bos or TokenLanguage.Eos) question = true;
            else if (ids[i] == TokenLanguage.Separator) question = false;
            else if (question && ids[i - 1] >= TokenLanguage.FirstSymbol)
            {
                pairs++;
                if (ids[i] - TokenLanguage.FirstSymbol == TokenLanguage.Successor((int)(ids[i - 1] - TokenLanguage.FirstSymbol))) follow++;
            }
        }
        // P(successor) = 0.75 + 0.25 / 16 = 0.766
        Assert.InRange((double)follow / pairs, 0.75, 0.78);
        Assert.Equal(Enumerable.Range(0, TokenLanguage.SymbolCount), Enumerable.Range(0, TokenLanguage.SymbolCount).Select(TokenLanguage.Successor).Order());
    }

    [Fact]
    public void A_batch_is_a_function_of_seed_and_step_only()
    {
        var a = TokenLanguages.Batch(TokenLanguage.Instance, seed: 3, step: 7, rows: 4, length: 32);
        var b = TokenLanguages.Batch(TokenLanguage.Instance, seed: 3, step: 7, rows: 4, length: 32);
        Assert.Equal(a.Ids, b.Ids);
        Assert.NotEqual(a.Ids, TokenLanguages.Batch(TokenLanguage.Instance, 3, 8, 4, 32).Ids);
        Assert.NotEqual(a.Ids, TokenLanguages.Batch(TokenLanguage.Instance, 4, 7, 4, 32).Ids);
        Assert.All(Enumerable.Range(0, 4), r => Assert.Equal(TokenLanguage.Bos, a.Ids[r * 32]));
    }

    [Fact]
    public void Tokens_name_every_id_once()
    {
        Assert.Equal(TokenLanguage.VocabularySize, TokenLanguage.Tokens.Count);
        Assert.Equal(TokenLanguage.Tokens.Count, TokenLanguage.Tokens.Distinct().Count());
        Assert.Equal("<bos> copy a b : a b <eos>", TokenLanguages.Describe(TokenLanguage.Instance, new long[] { 0, 3, 14, 15, 2, 14, 15, 1 }));
    }
}
