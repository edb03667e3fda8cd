using TorchSharp;
using VDiTLens.Text;
using VDiTLens.Tests.TestSupport;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Text;

public sealed class UnigramTokenizerTests
{
    private static UnigramTokenizer FromSpiece() => UnigramTokenizer.FromSentencePieceModel(System.IO.Path.Combine(TokenizerFixture.Folder, "spiece.model"));
    private static UnigramTokenizer FromJson() => UnigramTokenizer.FromTokenizerJson(System.IO.Path.Combine(TokenizerFixture.Folder, "hf_tokenizer", "tokenizer.json"));

    public static TheoryData<string> Sources => new() { "spiece.model", "tokenizer.json" };
    private static UnigramTokenizer Open(string source) => source == "spiece.model" ? FromSpiece() : FromJson();

    [Fact]
    public void Spiece_model_specs_are_read_from_the_protobuf()
    {
        var model = SentencePieceModel.Read(System.IO.Path.Combine(TokenizerFixture.Folder, "spiece.model"));
        Assert.Equal(150, model.Pieces.Count);
        Assert.Equal((0, 1, 2, -1), (model.Trainer.PadId, model.Trainer.EosId, model.Trainer.UnkId, model.Trainer.BosId));
        Assert.False(model.Trainer.ByteFallback);
        Assert.Equal(SentencePieceModel.UnigramModelType, model.Trainer.ModelType);
        Assert.Equal("nmt_nfkc", model.Normalizer.Name);
        Assert.True(model.Normalizer.PrecompiledCharsmap!.Length > 1000);
        Assert.True(model.Normalizer.AddDummyPrefix && model.Normalizer.RemoveExtraWhitespaces && model.Normalizer.EscapeWhitespaces);
        Assert.Equal(("<pad>", PieceType.Control), (model.Pieces[0].Piece, model.Pieces[0].Type));
        Assert.Equal(("<unk>", PieceType.Unknown), (model.Pieces[2].Piece, model.Pieces[2].Type));
        Assert.Equal("\u2581", model.Pieces[3].Piece);
        Assert.Equal(-1.9528590440750122f, model.Pieces[3].Score);
    }

    [Theory]
    [MemberData(nameof(Sources))]
    public void Pieces_and_ids_match_sentencepiece(string source)
    {
        var fixture = TokenizerFixture.Load();
        var tokenizer = Open(source);
        for (int i = 0; i < fixture.Texts.Length; i++)
        {
            var pieces = tokenizer.Tokenize(fixture.Texts[i]);
            Assert.Equal(fixture.SentencePiecePieces[i], pieces.Select(p => p.Piece).ToArray());
            Assert.Equal(fixture.SentencePieceIds[i], pieces.Select(p => p.Id).ToArray());
        }
    }

    [Theory]
    [MemberData(nameof(Sources))]
    public void Padded_truncated_call_matches_T5Tokenizer(string source)
    {
        var fixture = TokenizerFixture.Load();
        var expected = Fixtures.Load("t5_tokenizer_spm/tokenized.safetensors");
        using var batch = Open(source).Encode(fixture.Texts, fixture.MaxLength);
        Assert.Equal(ScalarType.Int64, batch.InputIds.dtype);
        Assert.Equal(expected["input_ids"].data<long>().ToArray(), batch.InputIds.data<long>().ToArray());
        Assert.Equal(expected["attention_mask"].data<long>().ToArray(), batch.AttentionMask.data<long>().ToArray());
        Assert.Equal(expected["input_ids"].shape, batch.InputIds.shape);
    }

    [Fact]
    public void Unknown_characters_in_a_row_become_one_unknown_piece()
    {
        var pieces = FromSpiece().Tokenize("x 123 y");
        Assert.Contains(("123", 2), pieces);
    }

    [Fact]
    public void Normaliser_collapses_whitespace_maps_tabs_and_adds_the_dummy_prefix()
    {
        var tokenizer = FromSpiece();
        Assert.Equal("\u2581Two\u2581dogs\u2581play\u2581in", tokenizer.Normalize("  Two  dogs play\tin  "));
        Assert.Equal("", tokenizer.Normalize(" \t "));
        // nmt_nfkc: full-width letters fold to ASCII (NFKC), as the precompiled charsmap says.
        Assert.Equal("\u2581ABC", tokenizer.Normalize("\uFF21\uFF22\uFF23"));
    }

    [Theory]
    [MemberData(nameof(Sources))]
    public void Wan_pipeline_prompt_ids_match_diffusers(string source)
    {
        TorchRuntime();
        var folder = Fixtures.Path("wan_pipeline", "pipeline", "tokenizer");
        var tokenizer = source == "spiece.model"
            ? UnigramTokenizer.FromFolder(Fixtures.Path("wan_pipeline", "pipeline"))
            : UnigramTokenizer.FromTokenizerJson(System.IO.Path.Combine(folder, "tokenizer.json"));
        var reference = Fixtures.Load("wan_pipeline/reference.safetensors");
        string[] prompts =
        {
            "A cat walks on the grass.",
            "Two astronauts float inside a space station &amp; look out of the window at   the blue earth.",
        };
        var cleaned = prompts.Select(PromptCleaner.Clean).ToArray();
        using var batch = tokenizer.Encode(cleaned, 16);
        Assert.Equal(reference["prompt_input_ids"].data<long>().ToArray(), batch.InputIds.data<long>().ToArray());
        Assert.Equal(reference["prompt_attention_mask"].data<long>().ToArray(), batch.AttentionMask.data<long>().ToArray());
        using var negative = tokenizer.Encode(new[] { PromptCleaner.Clean("worst quality, blurred") }, 16);
        var negativeIds = reference["negative_input_ids"];
        Assert.Equal(negativeIds[0].data<long>().ToArray(), negative.InputIds.data<long>().ToArray());
        Assert.Equal(reference["negative_attention_mask"][0].data<long>().ToArray(), negative.AttentionMask.data<long>().ToArray());
    }

    [Fact]
    public void Prompt_clean_unescapes_twice_and_collapses_whitespace()
    {
        Assert.Equal("Two astronauts & look out at the blue earth.",
            PromptCleaner.Clean("  Two astronauts &amp; look out\tat   the blue earth.\n"));
        Assert.Equal("a & b", PromptCleaner.Clean("a &amp;amp; b"));
    }

    [Fact]
    public void Missing_tokenizer_files_are_reported_with_the_folder()
    {
        var e = Assert.Throws<VDiTLensException>(() => UnigramTokenizer.FromFolder(Fixtures.Path("t5_encoder")));
        Assert.Contains("spiece.model", e.Message);
    }

    private static void TorchRuntime() => VDiTLens.Runtime.TorchRuntime.Initialise();
}
