namespace VDiTLens.Procedural.Scenes;

/// <summary>
/// Captions of scenes, objects back to front, attributes only (never positions), e.g. "a red striped circle moving
/// left quickly and a blue solid square moving up slowly on a noisy background as the camera pans right". A static
/// camera is not mentioned. Every word is in <see cref="CaptionVocabulary"/>.
/// </summary>
public static class SceneCaption
{
    /// <summary>Token length that fits the longest caption (3 objects and a pan: 32 words) plus EOS.</summary>
    public const int MaxLength = 33;

    public static string For(SceneSpec spec)
    {
        var objects = spec.Objects.Select(o =>
            $"a {Palette.Word(o.Colour)} {Palette.Word(o.Texture)} {Palette.Word(o.Shape)} moving {Palette.Word(o.Direction)} {ClipCaption.SpeedWord(o.Speed)}");
        string camera = spec.Camera == CameraPan.Static ? "" : $" as the camera pans {CameraWord(spec.Camera)}";
        return $"{string.Join(" and ", objects)} on a {Palette.Word(spec.Background)} background{camera}";
    }

    /// <summary>"left", "right", "up" or "down"; "static" for no pan.</summary>
    public static string CameraWord(CameraPan pan) => pan == CameraPan.Static ? "static" : Palette.Word(pan);
}
