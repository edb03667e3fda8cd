using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using VDiTLens.IO;
using VDiTLens.Runtime;
using VDiTLens.Tests.TestSupport;
using VDiTLens.Text;
using VDiTLens.Text.Bpe;

namespace VDiTLens.Tests.Text;

/// <summary>
/// The display text of each token id against the fixtures made by transformers and sentencepiece: each id's text is
/// the fixture's piece (T5), special tokens show their names, and joining the texts of a case's ids gives the case's
/// text back up to the tokenizer's normalisation (bytes of a character split across tokens rejoined from their
/// &lt;0xHH&gt; markers).
/// </summary>
public sealed class TokenTextsTests
{
    private static readonly JsonObject Hunyuan = ModelFolder.ReadJsonObject(Fixtures.Path("hunyuan_video_pipeline", "tokenization.json"));
    private static string[] HunyuanTexts => Hunyuan["texts"]!.AsArray().Select(t => t!.GetValue<string>()).ToArray();
    private static int[][] Rows(JsonNode node) => node.AsArray().Select(r => r!.AsArray().Select(i => i!.GetValue<int>()).ToArray()).ToArray();
    private static long[] Long(int[] ids) => ids.Select(i => (long)i).ToArray();

    /// <summary>Joined token texts with runs of &lt;0xHH&gt; markers turned back into the UTF-8 they stand for.</summary>
    private static string Join(IEnumerable<string> texts)
    {
        var bytes = new List<byte>();
        foreach (var part in Regex.Split(string.Concat(texts), "(<0x[0-9A-F]{2}>)"))
            if (Regex.IsMatch(part, "^<0x[0-9A-F]{2}>$")) bytes.Add(Convert.ToByte(part[3..5], 16));
            else bytes.AddRange(Encoding.UTF8.GetBytes(part));
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    private static string Collapsed(string text) => Regex.Replace(text.Trim(), @"\s+", " ");

    [Theory]
    [InlineData("spiece.model")]
    [InlineData("tokenizer.json")]
    public void T5_token_texts_are_the_sentencepiece_pieces_with_spaces_and_join_to_the_normalised_text(string source)
    {
        var fixture = TokenizerFixture.Load();
        var tokenizer = source == "spiece.model"
            ? UnigramTokenizer.FromSentencePieceModel(Path.Combine(TokenizerFixture.Folder, "spiece.model"))
            : UnigramTokenizer.FromTokenizerJson(Path.Combine(TokenizerFixture.Folder, "hf_tokenizer", "tokenizer.json"));
        int joined = 0;
        for (int i = 0; i < fixture.Texts.Length; i++)
        {
            var texts = tokenizer.TokenTexts(Long(fixture.SentencePieceIds[i]));
            var expected = fixture.SentencePiecePieces[i].Select((p, j) => fixture.SentencePieceIds[i][j] == 2 ? "<unk>" : p.Replace('\u2581', ' ')).ToArray();
            Assert.Equal(expected, texts);
            if (fixture.SentencePieceIds[i].Contains(2)) continue; // an unknown piece's text is gone
            Assert.Equal(Collapsed(fixture.Texts[i]), string.Concat(texts).TrimStart());
            joined++;
        }
        Assert.True(joined >= 2, $"only {joined} fixture cases without unknown pieces");
        Assert.Equal(new[] { "</s>", "<pad>" }, tokenizer.TokenTexts(new long[] { tokenizer.EosId, tokenizer.PadId }));
    }

    [Fact]
    public void Llama_token_texts_decode_bytes_name_the_begin_token_and_join_to_every_hard_case()
    {
        var tokenizer = BpeTokenizerJson.FromFolder(Fixtures.Path("hunyuan_video_pipeline", "pipeline", "tokenizer"));
        var config = ModelFolder.ReadJsonObject(Fixtures.Path("hunyuan_video_pipeline", "pipeline", "tokenizer", "tokenizer.json"));
        var begin = config["post_processor"]!["processors"]![1]!["special_tokens"]!.AsObject().Single();
        var ids = Rows(Hunyuan["llama"]!["ids"]!);
        var plain = Rows(Hunyuan["llama"]!["ids_no_special"]!);
        var texts = HunyuanTexts;
        bool split = false;
        for (int i = 0; i < texts.Length; i++)
        {
            var withSpecial = tokenizer.TokenTexts(Long(ids[i]));
            Assert.Equal(begin.Key, withSpecial[0]);
            Assert.Equal(begin.Value!["ids"]![0]!.GetValue<int>(), ids[i][0]);
            var tokens = tokenizer.TokenTexts(Long(plain[i]));
            Assert.True(texts[i] == Join(tokens), $"text {i} ({texts[i]}): tokens [{string.Join("|", tokens)}]");
            split |= tokens.Any(t => t.Contains("<0x"));
        }
        Assert.True(split, "no fixture case splits a character across tokens; the byte markers are untested");
    }

    [Fact]
    public void Clip_token_texts_end_words_with_a_space_name_start_and_end_and_join_to_the_normalised_text()
    {
        var tokenizer = ClipTokenizer.FromFolder(Fixtures.Path("hunyuan_video_pipeline", "pipeline", "tokenizer_2"));
        var ids = Rows(Hunyuan["clip"]!["ids"]!);
        var texts = HunyuanTexts;
        int joined = 0;
        for (int i = 0; i < texts.Length; i++)
        {
            var tokens = tokenizer.TokenTexts(Long(ids[i]));
            Assert.Equal("<|startoftext|>", tokens[0]);
            Assert.Equal("<|endoftext|>", tokens[^1]);
            if (ids[i].Length == 77 || ids[i][1..^1].Contains(ids[i][^1])) continue; // truncated, or an unknown symbol (CLIP's unk is <|endoftext|>)
            string expected = Regex.Replace(ClipTokenizer.Normalize(texts[i]), @"\s", "");
            Assert.True(expected == Regex.Replace(Join(tokens[1..^1]), @"\s", ""), $"text {i} ({texts[i]}): tokens [{string.Join("|", tokens)}]");
            joined++;
        }
        Assert.True(joined >= 5, $"only {joined} CLIP fixture cases joined");
        Assert.Equal("a ", tokenizer.TokenTexts(Long(ids[0]))[1].ToLowerInvariant()); // "A" is a word of its own: "a</w>"
    }

    [Fact]
    public void Word_level_token_texts_are_the_words_and_padding_is_marked()
    {
        TorchRuntime.Initialise();
        var tokenizer = new WordLevelTokenizer(new[] { "<pad>", "</s>", "<unk>", "a", "red", "circle" }, 0, 1, 2, lowercase: true);
        Assert.Equal(new[] { "a", "red", "circle", "</s>" }, tokenizer.TokenTexts(Long(tokenizer.EncodeIds("A red circle"))));
        using var batch = tokenizer.Encode(new[] { "red circle", "a" }, 4);
        Assert.Equal(new[] { new[] { "red", "circle", "</s>", TokenText.Padding }, new[] { "a", "</s>", TokenText.Padding, TokenText.Padding } }, batch.TokenTexts(tokenizer));
    }

    [Fact]
    public void Bytes_of_a_split_character_show_as_markers_and_whole_characters_as_text()
    {
        var cat = Encoding.UTF8.GetBytes("🐱");
        Assert.Equal("a🐱", TokenText.FromUtf8(new byte[] { (byte)'a' }.Concat(cat).ToArray()));
        Assert.Equal("<0xF0><0x9F>", TokenText.FromUtf8(cat[..2]));
        Assert.Equal("🐱", Join(new[] { TokenText.FromUtf8(cat[..2]), TokenText.FromUtf8(cat[2..]) }));
    }
}
