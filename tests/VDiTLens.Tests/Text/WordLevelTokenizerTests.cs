using VDiTLens.Runtime;
using VDiTLens.Text;

namespace VDiTLens.Tests.Text;

public sealed class WordLevelTokenizerTests
{
    private const string Vocab = """
        {"type": "word_level", "words": ["<pad>", "</s>", "<unk>", "a", "red", "circle", "moving", "left"],
         "pad": 0, "eos": 1, "unk": 2, "lowercase": true}
        """;

    private static WordLevelTokenizer FromJson(string json)
    {
        string dir = Path.Combine(Path.GetTempPath(), "vditlens-vocab-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, WordLevelTokenizer.FileName), json);
        try { return WordLevelTokenizer.FromFile(dir); }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Lowercases_splits_on_non_letters_and_maps_unknown_words()
    {
        var tokenizer = FromJson(Vocab);
        Assert.Equal(new[] { "a", "red", "circle", "moving", "left", "fast" }, tokenizer.Split("A RED circle,moving-left... 2 fast!"));
        Assert.Equal(new[] { 3, 4, 5, 6, 7, 2, 1 }, tokenizer.EncodeIds("A RED circle,moving-left... 2 fast!"));
    }

    [Fact]
    public void Encode_appends_eos_pads_and_masks()
    {
        TorchRuntime.Initialise();
        var tokenizer = FromJson(Vocab);
        using var batch = tokenizer.Encode(new[] { "red circle", "" }, 5);
        Assert.Equal(new long[] { 4, 5, 1, 0, 0, 1, 0, 0, 0, 0 }, batch.InputIds.data<long>().ToArray());
        Assert.Equal(new long[] { 1, 1, 1, 0, 0, 1, 0, 0, 0, 0 }, batch.AttentionMask.data<long>().ToArray());
    }

    [Fact]
    public void Truncation_keeps_eos()
    {
        var tokenizer = FromJson(Vocab);
        Assert.Equal(new[] { 3, 4, 1 }, tokenizer.EncodeIds("a red circle moving left", 3));
    }

    [Fact]
    public void Case_is_kept_when_lowercase_is_false()
    {
        var tokenizer = FromJson(Vocab.Replace("\"lowercase\": true", "\"lowercase\": false"));
        Assert.Equal(new[] { 2, 4, 1 }, tokenizer.EncodeIds("Red red"));
    }

    [Fact]
    public void Wrong_type_names_the_field()
    {
        var e = Assert.Throws<VDiTLensException>(() => FromJson("""{"type": "bpe", "words": ["a"]}"""));
        Assert.Contains("field 'type' is 'bpe'", e.Message);
    }

    [Fact]
    public void Special_id_outside_the_words_names_the_field()
    {
        var e = Assert.Throws<VDiTLensException>(() => FromJson("""{"type": "word_level", "words": ["<pad>", "</s>"], "unk": 5}"""));
        Assert.Contains("field 'unk' = 5", e.Message);
    }

    [Fact]
    public void Duplicate_words_are_refused()
    {
        var e = Assert.Throws<VDiTLensException>(() => FromJson("""{"type": "word_level", "words": ["<pad>", "</s>", "<unk>", "a", "a"]}"""));
        Assert.Contains("'a' twice", e.Message);
    }
}
