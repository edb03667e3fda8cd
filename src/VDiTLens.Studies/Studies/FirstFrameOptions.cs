using System.Text.Json.Serialization;
using VDiTLens.Pipelines;
using static TorchSharp.torch;

namespace VDiTLens.Studies;

/// <summary>
/// Options of a study that can generate from a first frame (image-to-video folders): the image, the same for every
/// prompt and seed, and what saved settings keep of it, its <see cref="GenerationSettings.ImageHash"/>, so that a
/// shard or a resumed run given another image is refused.
/// </summary>
public abstract record FirstFrameOptions
{
    /// <summary>The first frame (<see cref="GenerationRequest.Image"/>, [1, 3, height, width] in [0, 1]); null for text-to-video.</summary>
    [JsonIgnore]
    public Tensor? Image { get => _image; init { _image = value; _imageHash = GenerationSettings.ImageHash(value); } }
    private readonly Tensor? _image;

    /// <summary>What saved settings hold of <see cref="Image"/>; null without one.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]   // settings saved without an image keep their text
    public string? ImageHash { get => _imageHash; init => _imageHash = value; }
    private readonly string? _imageHash;
}
