using System.Globalization;
using VDiTLens.Pipelines;

namespace VDiTLens.Studies;

/// <summary>The generation settings of a study's requests that change its cells' results, as one comparable string.</summary>
public static class GenerationSettings
{
    public static string Describe(GenerationRequest t) => string.Join("|", t.Steps, t.GuidanceScale.ToString("R", CultureInfo.InvariantCulture),
        t.Frames, t.Height, t.Width, t.MaxSequenceLength, t.NegativePrompt);
}
