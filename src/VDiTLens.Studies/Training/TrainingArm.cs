namespace VDiTLens.Training;

/// <summary>
/// How a clip enters the transformer in a training arm (Gu et al.: a token fixed at one position in training becomes
/// the sink).
/// <list type="bullet">
/// <item><see cref="Plain"/>: every frame through the shared patch embedding.</item>
/// <item><see cref="Frame0"/>: frame 0 first passes through its own learned per-patch linear map (initialised to the
/// identity) and then the shared patch embedding, so its tokens are embedded by their own matrix, as Wan's causal VAE
/// encodes its first latent frame apart. The map lives beside the transformer (<c>arm.*</c> weights), not in it.</item>
/// <item><see cref="Bos"/>: a constant frame (all zeros, i.e. mid-grey) is put, clean, before every noisy clip; its
/// output is dropped, so the model sees the same tokens at the same positions in every sample.</item>
/// </list>
/// </summary>
public static class TrainingArm
{
    public const string Plain = "plain";
    public const string Frame0 = "frame0";
    public const string Bos = "bos";

    public static IReadOnlyList<string> All { get; } = new[] { Plain, Frame0, Bos };

    public static void Validate(string arm)
    {
        if (!All.Contains(arm)) throw new VDiTLensException($"TinyModelConfig.Arm is '{arm}'; use one of {string.Join(", ", All)}");
    }
}
