namespace VDiTLens.Procedural;

/// <summary>
/// Captions from clip parameters, e.g. "a red circle moving left slowly on a striped background" or, with a distractor,
/// "a red circle moving left quickly beside a static blue square on a plain background". Every word is in
/// <see cref="CaptionVocabulary"/>.
/// </summary>
public static class ClipCaption
{
    public static string For(ClipSpec spec)
    {
        string subject = $"a {Palette.Word(spec.Colour)} {Palette.Word(spec.Shape)} moving {Palette.Word(spec.Direction)} {SpeedWord(spec.Speed)}";
        string distractor = spec.Distractor is { } d ? $" beside a static {Palette.Word(d.Colour)} {Palette.Word(d.Shape)}" : "";
        return $"{subject}{distractor} on a {Palette.Word(spec.Background)} background";
    }

    /// <summary>"slowly" or "quickly".</summary>
    public static string SpeedWord(MotionSpeed speed) => speed == MotionSpeed.Fast ? "quickly" : "slowly";
}
