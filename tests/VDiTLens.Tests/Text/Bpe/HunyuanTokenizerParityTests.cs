using System.Text.Json.Nodes;
using TorchSharp;
using VDiTLens.Runtime;
using VDiTLens.Tests.TestSupport;
using VDiTLens.Text.Bpe;
using Xunit.Abstractions;

namespace VDiTLens.Tests.Text.Bpe;

/// <summary>
/// The Llama 3 style tokenizer (tokenizer.json) and the CLIP tokenizer (vocab.json + merges.txt) of the
/// hunyuan_video_pipeline fixture against the ids transformers gave for hard cases (tokenization.json): Unicode,
/// emoji, accents, astral letters, whitespace runs, newlines, special tokens in the text, a long prompt truncated.
/// </summary>
public sealed class HunyuanTokenizerParityTests(ITestOutputHelper output)
{
    private static readonly JsonObject Record = VDiTLens.IO.ModelFolder.ReadJsonObject(Fixtures.Path("hunyuan_video_pipeline", "tokenization.json"));
    private static string[] Texts => Record["texts"]!.AsArray().Select(t => t!.GetValue<string>()).ToArray();
    private static ByteLevelBpeTokenizer Llama() => BpeTokenizerJson.FromFolder(Fixtures.Path("hunyuan_video_pipeline", "pipeline", "tokenizer"));
    private static ByteLevelBpeTokenizer Clip() => ClipTokenizer.FromFolder(Fixtures.Path("hunyuan_video_pipeline", "pipeline", "tokenizer_2"));

    private static int[][] Rows(JsonNode node) => node.AsArray().Select(r => r!.AsArray().Select(i => i!.GetValue<int>()).ToArray()).ToArray();

    [Fact]
    public void Llama_ids_equal_transformers_on_every_hard_case()
    {
        var tokenizer = Llama();
        var expected = Rows(Record["llama"]!["ids"]!);
        var plain = Rows(Record["llama"]!["ids_no_special"]!);
        for (int i = 0; i < Texts.Length; i++)
        {
            Assert.True(expected[i].SequenceEqual(tokenizer.EncodeIds(Texts[i])), $"text {i} ({Texts[i]}): [{string.Join(",", tokenizer.EncodeIds(Texts[i]))}] vs transformers [{string.Join(",", expected[i])}]");
            Assert.Equal(plain[i], tokenizer.EncodeText(Texts[i]).ToArray());
        }
        output.WriteLine($"{Texts.Length} texts, {expected.Sum(r => r.Length)} ids identical");
    }

    [Theory]
    [InlineData(16)]
    [InlineData(40)]
    public void Llama_padded_and_truncated_batch_equals_transformers(int maxLength)
    {
        TorchRuntime.Initialise();
        using var batch = Llama().Encode(Texts, maxLength);
        var expected = Record["llama"]![$"max_length_{maxLength}"]!;
        AssertRows(Rows(expected["input_ids"]!), batch.InputIds);
        AssertRows(Rows(expected["attention_mask"]!), batch.AttentionMask);
    }

    [Fact]
    public void Clip_ids_equal_transformers_on_every_hard_case()
    {
        var tokenizer = Clip();
        var expected = Rows(Record["clip"]!["ids"]!);
        for (int i = 0; i < Texts.Length; i++)
            Assert.True(expected[i].SequenceEqual(tokenizer.EncodeIds(Texts[i])), $"text {i} ({Texts[i]}): [{string.Join(",", tokenizer.EncodeIds(Texts[i]))}] vs transformers [{string.Join(",", expected[i])}]");
        output.WriteLine($"{Texts.Length} texts, {expected.Sum(r => r.Length)} ids identical");
    }

    [Fact]
    public void Clip_padded_and_truncated_batch_equals_transformers()
    {
        TorchRuntime.Initialise();
        using var batch = Clip().Encode(Texts, 77);
        var expected = Record["clip"]!["max_length_77"]!;
        AssertRows(Rows(expected["input_ids"]!), batch.InputIds);
        AssertRows(Rows(expected["attention_mask"]!), batch.AttentionMask);
    }

    private static void AssertRows(int[][] expected, torch.Tensor actual)
    {
        Assert.Equal(new long[] { expected.Length, expected[0].Length }, actual.shape);
        var values = actual.data<long>().ToArray();
        for (int r = 0; r < expected.Length; r++)
            Assert.True(expected[r].Select(v => (long)v).SequenceEqual(values.Skip(r * expected[r].Length).Take(expected[r].Length)),
                $"row {r}: [{string.Join(",", values.Skip(r * expected[r].Length).Take(expected[r].Length))}] vs transformers [{string.Join(",", expected[r])}]");
    }
}
