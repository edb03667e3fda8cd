using System.Text.Json.Nodes;
using VDiTLens.IO;
using VDiTLens.Tests.TestSupport;

namespace VDiTLens.Tests.Text;

/// <summary>tests/fixtures/t5_tokenizer_spm/tokenization.json: texts, raw sentencepiece output, the padded call.</summary>
internal sealed record TokenizerFixture(string[] Texts, int MaxLength, int[][] SentencePieceIds, string[][] SentencePiecePieces)
{
    public static string Folder => Fixtures.Path("t5_tokenizer_spm");

    public static TokenizerFixture Load()
    {
        var json = ModelFolder.ReadJsonObject(Fixtures.Path("t5_tokenizer_spm", "tokenization.json"));
        var texts = json["texts"]!.AsArray().Select(t => t!.GetValue<string>()).ToArray();
        var spm = json["sentencepiece"]!.AsArray();
        return new TokenizerFixture(
            texts,
            json["max_length"]!.GetValue<int>(),
            spm.Select(e => e!["ids"]!.AsArray().Select(i => i!.GetValue<int>()).ToArray()).ToArray(),
            spm.Select(e => e!["pieces"]!.AsArray().Select(p => p!.GetValue<string>()).ToArray()).ToArray());
    }
}
