using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using VDiTLens.Pipelines;
using static TorchSharp.torch;

namespace VDiTLens.Studies;

/// <summary>The generation settings of a study's requests that change its cells' results, as one comparable string.</summary>
public static class GenerationSettings
{
    /// <summary>
    /// Steps, guidance, sizes, prompt length and negative prompt; with a first-frame <see cref="GenerationRequest.Image"/>
    /// also its <see cref="ImageHash"/> (so a shard or a resumed run given another image is refused).
    /// </summary>
    public static string Describe(GenerationRequest t) => string.Join("|", t.Steps, t.GuidanceScale.ToString("R", CultureInfo.InvariantCulture),
        t.Frames, t.Height, t.Width, t.MaxSequenceLength, t.NegativePrompt) + (t.Image is { } image ? "|image=" + ImageHash(image) : "");

    /// <summary>Adds "image" = <see cref="ImageHash"/> to settings recorded as key-value pairs when there is an image (folders without one keep their keys).</summary>
    public static T WithImage<T>(this T settings, Tensor? image) where T : IDictionary<string, string>
    {
        if (ImageHash(image) is { } hash) settings["image"] = hash;
        return settings;
    }

    /// <summary>
    /// The content of a first-frame image as the studies record it: "sha256:" and the SHA-256 of its shape and float32
    /// values (the same image gives the same hash wherever its file lives); null for no image.
    /// </summary>
    public static string? ImageHash(Tensor? image)
    {
        if (image is null) return null;
        using var values = image.detach().to(ScalarType.Float32).cpu().contiguous();
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(MemoryMarshal.AsBytes(values.shape.AsSpan()));
        sha.AppendData(MemoryMarshal.AsBytes(values.data<float>().ToArray().AsSpan()));
        return "sha256:" + Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant();
    }
}
