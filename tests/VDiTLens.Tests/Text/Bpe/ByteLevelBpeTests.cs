using VDiTLens.Text.Bpe;

namespace VDiTLens.Tests.Text.Bpe;

/// <summary>The byte-level BPE building blocks against hand-worked cases.</summary>
public sealed class ByteLevelBpeTests
{
    [Fact]
    public void Byte_alphabet_is_gpt2s_bytes_to_unicode()
    {
        var all = ByteLevelAlphabet.All.ToArray();
        Assert.Equal(256, all.Distinct().Count());
        Assert.Equal('A', ByteLevelAlphabet.Of((byte)'A'));
        Assert.Equal('Ġ', ByteLevelAlphabet.Of((byte)' ')); // U+0120: the 33rd non-printable byte
        Assert.Equal('Ċ', ByteLevelAlphabet.Of((byte)'\n'));
        Assert.Equal('\u0100', ByteLevelAlphabet.Of(0));
        Assert.Equal("Ã©", ByteLevelAlphabet.Encode("é")); // UTF-8 C3 A9
    }

    [Fact]
    public void Lowest_rank_pair_is_merged_first_everywhere_in_the_word()
    {
        var vocab = new[] { "a", "b", "c", "ab", "bc", "abc", "abab" }.Select((t, i) => (t, i)).ToDictionary(x => x.t, x => x.i);
        var model = new BpeModel(vocab, new[] { ("b", "c"), ("a", "b"), ("ab", "c"), ("ab", "ab") }, null, false, null, "test");
        var ids = new List<int>();
        model.Encode("abc", ids); // (b,c) ranks before (a,b): a + bc, and (a, bc) is no merge
        Assert.Equal(new[] { vocab["a"], vocab["bc"] }, ids);
        ids.Clear();
        model.Encode("abab", ids); // (a,b) twice, then (ab,ab)
        Assert.Equal(new[] { vocab["abab"] }, ids);
    }

    [Fact]
    public void Ignore_merges_takes_a_word_in_the_vocabulary_whole()
    {
        var vocab = new[] { "a", "b", "c", "bc", "abc" }.Select((t, i) => (t, i)).ToDictionary(x => x.t, x => x.i);
        var merges = new[] { ("b", "c") };
        var ids = new List<int>();
        new BpeModel(vocab, merges, null, ignoreMerges: true, null, "test").Encode("abc", ids);
        Assert.Equal(new[] { vocab["abc"] }, ids);
        ids.Clear();
        new BpeModel(vocab, merges, null, ignoreMerges: false, null, "test").Encode("abc", ids);
        Assert.Equal(new[] { vocab["a"], vocab["bc"] }, ids);
    }

    [Fact]
    public void End_of_word_suffix_goes_on_the_last_symbol()
    {
        var vocab = new[] { "a", "b", "a</w>", "b</w>", "ab</w>" }.Select((t, i) => (t, i)).ToDictionary(x => x.t, x => x.i);
        var model = new BpeModel(vocab, new[] { ("a", "b</w>") }, "</w>", false, null, "test");
        var ids = new List<int>();
        model.Encode("ab", ids);
        Assert.Equal(new[] { vocab["ab</w>"] }, ids);
        ids.Clear();
        model.Encode("ba", ids);
        Assert.Equal(new[] { vocab["b"], vocab["a</w>"] }, ids);
    }

    [Fact]
    public void Merge_into_a_token_missing_from_the_vocabulary_is_refused()
    {
        var vocab = new Dictionary<string, int> { ["a"] = 0, ["b"] = 1 };
        var e = Assert.Throws<VDiTLensException>(() => new BpeModel(vocab, new[] { ("a", "b") }, null, false, null, "vocab.json"));
        Assert.Contains("merge 0 ('a' 'b') makes 'ab', which is not in the vocabulary", e.Message);
    }

    [Fact]
    public void Regex_classes_see_astral_characters_as_one_code_point()
    {
        var letters = new CodePointRegex(@"\p{L}+");
        // 𝒜 (U+1D49C) is a letter; 🐱 (U+1F431) is not: .NET alone would see four surrogates and match none of them.
        var matches = letters.Matches("x𝒜y 🐱z");
        Assert.Equal(new[] { (0, 4), (7, 1) }, matches);
        var others = new CodePointRegex(@"[^\s\p{L}\p{N}]+").Matches("a🐱🚀b");
        Assert.Equal(new[] { (1, 4) }, others);
    }

    [Fact]
    public void Clip_normalisation_is_nfc_single_spaces_and_per_character_lower_case()
    {
        Assert.Equal(" café x", ClipTokenizer.Normalize("\tCafe\u0301\n\u3000 X"));
        Assert.Equal("i\u0307stanbul", ClipTokenizer.Normalize("İSTANBUL"));
        Assert.Equal("σς", ClipTokenizer.Normalize("Σς")); // no final-sigma rule: per character, as Rust's char::to_lowercase
        Assert.Equal("𐐨", ClipTokenizer.Normalize("𐐀")); // astral upper case (Deseret)
    }

    [Fact]
    public void Added_tokens_match_leftmost_then_longest()
    {
        var added = new AddedTokens(new Dictionary<string, int> { ["<|a|>"] = 10, ["<|a|>b"] = 11, ["x"] = 12 });
        var parts = added.Split("q<|a|>bx<|a|>").ToArray();
        Assert.Equal(new (string, int?)[] { ("q", null), ("<|a|>b", 11), ("x", 12), ("<|a|>", 10) }, parts);
    }
}
