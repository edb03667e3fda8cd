using TorchSharp;
using VDiTLens.Procedural;
using VDiTLens.Runtime;

namespace VDiTLens.Tests.Procedural;

public sealed class CaptionVocabularyTests
{
    private static readonly CaptionVocabulary Vocabulary = CaptionVocabulary.Default;

    [Fact]
    public void Caption_names_every_attribute()
    {
        var spec = new ClipSpec(ObjectShape.Circle, ObjectColour.Red, MotionDirection.Left, MotionSpeed.Slow, BackgroundKind.Striped, 0.5, 0.5, 0.3);
        Assert.Equal("a red circle moving left slowly on a striped background", ClipCaption.For(spec));
        var withDistractor = spec with
        {
            Speed = MotionSpeed.Fast, Background = BackgroundKind.Plain,
            Distractor = new DistractorSpec(ObjectShape.Square, ObjectColour.Blue, 0.2, 0.2, 0.2),
        };
        Assert.Equal("a red circle moving left quickly beside a static blue square on a plain background", ClipCaption.For(withDistractor));
    }

    [Fact]
    public void Special_ids_and_word_order_are_fixed()
    {
        Assert.Equal(0, CaptionVocabulary.PadId);
        Assert.Equal(1, CaptionVocabulary.EosId);
        Assert.Equal(2, CaptionVocabulary.UnkId);
        Assert.Equal(new[] { "<pad>", "</s>", "<unk>", "a", "moving" }, Vocabulary.Words.Take(5));
        // Pinned: a trained text encoder depends on these ids. Append new words; never reorder.
        Assert.Equal(11, Vocabulary.IdOf("red"));
        Assert.Equal(18, Vocabulary.IdOf("circle"));
        Assert.Equal(21, Vocabulary.IdOf("left"));
        Assert.Equal(27, Vocabulary.IdOf("striped"));
        Assert.Equal(36, CaptionVocabulary.SingleObjectSize);
        Assert.Equal(new[] { "solid", "dotted", "as", "camera", "pans" }, Vocabulary.Words.Skip(36));
        Assert.Equal(41, Vocabulary.Size);
        Assert.Equal(Vocabulary.Size, Vocabulary.Words.Distinct().Count());
    }

    [Fact]
    public void Every_generated_caption_is_in_vocabulary_and_fits_the_default_length()
    {
        var dataset = new ProceduralDataset(new ProceduralDatasetOptions(DistractorProbability: 0.5));
        foreach (var example in dataset.TrainingExamples(500).Concat(dataset.EvaluationSet()))
        {
            var encoded = Vocabulary.Encode(example.Caption);
            Assert.DoesNotContain(CaptionVocabulary.UnkId, encoded.Ids);
            Assert.Contains(CaptionVocabulary.EosId, encoded.Ids);
            Assert.Equal(example.Caption, Vocabulary.Decode(encoded.Ids));
        }
    }

    [Fact]
    public void Encode_appends_eos_pads_and_masks()
    {
        var encoded = Vocabulary.Encode("A red, CIRCLE zebra!", maxLength: 8);
        Assert.Equal(new long[] { 3, 11, 18, CaptionVocabulary.UnkId, CaptionVocabulary.EosId, 0, 0, 0 }, encoded.Ids);
        Assert.Equal(new long[] { 1, 1, 1, 1, 1, 0, 0, 0 }, encoded.Mask);
    }

    [Fact]
    public void Truncation_keeps_eos_last()
    {
        var encoded = Vocabulary.Encode("a red circle moving left slowly", maxLength: 4);
        Assert.Equal(new long[] { 3, 11, 18, CaptionVocabulary.EosId }, encoded.Ids);
        Assert.Equal(new long[] { 1, 1, 1, 1 }, encoded.Mask);
        Assert.Equal(new long[] { CaptionVocabulary.EosId }, Vocabulary.Encode("", maxLength: 1).Ids);
        Assert.Throws<VDiTLensException>(() => Vocabulary.Encode("a", maxLength: 0));
    }

    [Fact]
    public void Batch_encoding_gives_int64_ids_and_mask()
    {
        TorchRuntime.Initialise();
        var (ids, mask) = Vocabulary.EncodeBatch(new[] { "a red circle", "a blue square moving up" });
        Assert.Equal(new long[] { 2, CaptionVocabulary.DefaultMaxLength }, ids.shape);
        Assert.Equal(torch.ScalarType.Int64, ids.dtype);
        Assert.Equal(torch.ScalarType.Int64, mask.dtype);
        Assert.Equal(Vocabulary.Encode("a blue square moving up").Ids, ids[1].data<long>().ToArray());
        Assert.Equal(new long[] { 4, 6 }, mask.sum(1).data<long>().ToArray());
    }
}
