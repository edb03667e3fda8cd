namespace VDiTLens.Procedural.Scenes;

/// <summary>What a scene caption names about one object.</summary>
public sealed record CaptionedObject(ObjectColour Colour, ObjectTexture Texture, ObjectShape Shape, MotionDirection Direction, MotionSpeed Speed);

/// <summary>What a scene caption names: the objects back to front, the background and the camera.</summary>
public sealed record SceneCaptionParts(IReadOnlyList<CaptionedObject> Objects, BackgroundKind Background, CameraPan Camera);

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

    /// <summary>The parts of a caption written by <see cref="For"/>; null for any other text.</summary>
    public static SceneCaptionParts? Parse(string caption)
    {
        var words = caption.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var objects = new List<CaptionedObject>();
        int i = 0;
        while (i + 7 <= words.Length && words[i] == "a" && words[i + 4] == "moving")
        {
            if (Word<ObjectColour>(words[i + 1]) is not { } colour || Word<ObjectTexture>(words[i + 2]) is not { } texture
                || Word<ObjectShape>(words[i + 3]) is not { } shape || Word<MotionDirection>(words[i + 5]) is not { } direction
                || Speed(words[i + 6]) is not { } speed) return null;
            objects.Add(new CaptionedObject(colour, texture, shape, direction, speed));
            i += 7;
            if (i < words.Length && words[i] == "and") i++;
            else break;
        }
        if (objects.Count == 0 || i + 4 > words.Length || words[i] != "on" || words[i + 1] != "a" || words[i + 3] != "background"
            || Word<BackgroundKind>(words[i + 2]) is not { } background) return null;
        i += 4;
        if (i == words.Length) return new SceneCaptionParts(objects, background, CameraPan.Static);
        if (i + 5 != words.Length || string.Join(' ', words[i..(i + 4)]) != "as the camera pans"
            || Word<CameraPan>(words[i + 4]) is not { } pan || pan == CameraPan.Static) return null;
        return new SceneCaptionParts(objects, background, pan);
    }

    private static T? Word<T>(string word) where T : struct, Enum =>
        Enum.GetValues<T>().Cast<T?>().FirstOrDefault(v => Palette.Word(v!.Value) == word);

    private static MotionSpeed? Speed(string word) =>
        Enum.GetValues<MotionSpeed>().Cast<MotionSpeed?>().FirstOrDefault(v => ClipCaption.SpeedWord(v!.Value) == word);
}
