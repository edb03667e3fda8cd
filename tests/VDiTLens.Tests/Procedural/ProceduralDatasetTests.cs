using VDiTLens.Procedural;

namespace VDiTLens.Tests.Procedural;

public sealed class ProceduralDatasetTests
{
    [Fact]
    public void Held_out_split_is_fifteen_of_ninety_six_and_disjoint()
    {
        Assert.Equal(96, AttributeCombination.All.Count);
        Assert.Equal(15, HeldOutSplit.HeldOut.Count);
        Assert.Equal(81, HeldOutSplit.Training.Count);
        Assert.Empty(HeldOutSplit.HeldOut.Intersect(HeldOutSplit.Training));
        Assert.Contains(new AttributeCombination(ObjectColour.Green, ObjectShape.Triangle, MotionDirection.Up), HeldOutSplit.HeldOut);
        Assert.Contains(new AttributeCombination(ObjectColour.Red, ObjectShape.Square, MotionDirection.Up), HeldOutSplit.HeldOut);
        Assert.DoesNotContain(new AttributeCombination(ObjectColour.Red, ObjectShape.Square, MotionDirection.Down), HeldOutSplit.HeldOut);
    }

    [Fact]
    public void Training_still_covers_every_attribute_pairing_except_held_out_pairs()
    {
        var training = HeldOutSplit.Training;
        foreach (var colour in Enum.GetValues<ObjectColour>())
        foreach (var direction in Enum.GetValues<MotionDirection>())
            Assert.Contains(training, c => c.Colour == colour && c.Direction == direction);
        foreach (var shape in Enum.GetValues<ObjectShape>())
        foreach (var direction in Enum.GetValues<MotionDirection>())
            Assert.Contains(training, c => c.Shape == shape && c.Direction == direction);
        foreach (var colour in Enum.GetValues<ObjectColour>())
        foreach (var shape in Enum.GetValues<ObjectShape>())
            Assert.Equal(!HeldOutSplit.IsHeldOutPair(colour, shape), training.Any(c => c.Colour == colour && c.Shape == shape));
    }

    [Fact]
    public void Training_sampler_never_produces_a_held_out_combination_and_reaches_all_others()
    {
        var dataset = new ProceduralDataset(new ProceduralDatasetOptions(DistractorProbability: 0.5));
        var seen = new HashSet<AttributeCombination>();
        foreach (var example in dataset.TrainingExamples(5000))
        {
            Assert.False(HeldOutSplit.IsHeldOut(example.Spec), example.Caption);
            if (example.Spec.Distractor is { } d) Assert.False(HeldOutSplit.IsHeldOutPair(d.Colour, d.Shape), example.Caption);
            seen.Add(example.Combination);
        }
        Assert.Equal(HeldOutSplit.Training.Count, seen.Count);
    }

    [Fact]
    public void Examples_depend_only_on_seed_and_index()
    {
        var a = new ProceduralDataset(new ProceduralDatasetOptions(Seed: 5));
        var b = new ProceduralDataset(new ProceduralDatasetOptions(Seed: 5));
        var c = new ProceduralDataset(new ProceduralDatasetOptions(Seed: 6));
        Assert.Equal(a.Training(123), b.Training(123));
        Assert.Equal(a.TrainingExamples(10, start: 40).ToList(), b.TrainingExamples(10, start: 40).ToList());
        Assert.NotEqual(a.Training(123), a.Training(124));
        Assert.NotEqual(a.TrainingExamples(10).ToList(), c.TrainingExamples(10).ToList());
        Assert.Equal(a.EvaluationSet(), b.EvaluationSet());
    }

    [Fact]
    public void Evaluation_set_uses_only_held_out_combinations_both_speeds()
    {
        var set = new ProceduralDataset().EvaluationSet(perCombination: 4);
        Assert.Equal(60, set.Count);
        Assert.All(set, e => Assert.True(HeldOutSplit.IsHeldOut(e.Spec), e.Caption));
        Assert.Equal(HeldOutSplit.HeldOut.ToHashSet(), set.Select(e => e.Combination).ToHashSet());
        Assert.Equal(30, set.Count(e => e.Spec.Speed == MotionSpeed.Fast));
        Assert.All(set, e => Assert.Null(e.Spec.Distractor));
        Assert.Contains(set, e => e.Caption.StartsWith("a green triangle moving"));
    }

    [Fact]
    public void Sampled_attributes_stay_in_their_ranges()
    {
        var options = new ProceduralDatasetOptions(Seed: 2, DistractorProbability: 1);
        var examples = new ProceduralDataset(options).TrainingExamples(1000).ToList();
        Assert.All(examples, e =>
        {
            Assert.InRange(e.Spec.Size, options.MinSize, options.MaxSize);
            Assert.InRange(e.Spec.BackgroundTone, options.MinTone, options.MaxTone);
            Assert.Equal((options.Frames, options.Height, options.Width), (e.Spec.Frames, e.Spec.Height, e.Spec.Width));
            if (e.Spec.Distractor is { } d) Assert.NotEqual(e.Spec.Colour, d.Colour);
        });
        foreach (var kind in Enum.GetValues<BackgroundKind>()) Assert.Contains(examples, e => e.Spec.Background == kind);
        foreach (var speed in Enum.GetValues<MotionSpeed>()) Assert.Contains(examples, e => e.Spec.Speed == speed);
        Assert.True(examples.Count(e => e.Spec.Distractor is not null) > 900);
    }
}
