using VDiTLens.Procedural;

namespace VDiTLens.Studies;

/// <summary>The prompts a study generates: the given ones (no known attributes), else captions of the procedural evaluation set with their specs.</summary>
public static class StudyPrompts
{
    public static (IReadOnlyList<string> Prompts, IReadOnlyList<ClipSpec?> Specs) Of(IReadOnlyList<string>? given, int count)
    {
        if (given is { Count: > 0 }) return (given, given.Select(_ => (ClipSpec?)null).ToArray());
        if (count < 1) throw new VDiTLensException($"prompt count {count}: give at least 1 prompt");
        var set = new ProceduralDataset().EvaluationSet(1).Take(count).ToList();
        return (set.Select(e => e.Caption).ToArray(), set.Select(e => (ClipSpec?)e.Spec).ToArray());
    }
}
