using VDiTLens.Text;

namespace VDiTLens.Tests.Text;

public sealed class ByteFallbackTests
{
    private static SentencePieceModel Model(bool byteFallback) => new(
        new[]
        {
            new SentencePiece("<pad>", 0, PieceType.Control),
            new SentencePiece("</s>", 0, PieceType.Control),
            new SentencePiece("<unk>", 0, PieceType.Unknown),
            new SentencePiece("\u2581", -1, PieceType.Normal),
            new SentencePiece("a", -2, PieceType.Normal),
            new SentencePiece("<0xC3>", 0, PieceType.Byte),
            new SentencePiece("<0x9C>", 0, PieceType.Byte),
        },
        new TrainerSpec(UnkId: 2, BosId: -1, EosId: 1, PadId: 0, ByteFallback: byteFallback),
        new NormalizerSpec());

    [Fact]
    public void Unknown_characters_are_spelled_as_utf8_byte_pieces_with_byte_fallback()
    {
        var pieces = new UnigramTokenizer(Model(true), "test").Tokenize("a\u00DC\u00DC");
        Assert.Equal(new[] { 3, 4, 5, 6, 5, 6 }, pieces.Select(p => p.Id).ToArray());
    }

    [Fact]
    public void Without_byte_fallback_the_unknown_run_is_one_unk_piece()
    {
        var pieces = new UnigramTokenizer(Model(false), "test").Tokenize("a\u00DC\u00DC");
        Assert.Equal(new[] { (("\u2581", 3)), ("a", 4), ("\u00DC\u00DC", 2) }, pieces.ToArray());
    }
}
