using Spectre.Console;
using TorchSharp;
using VDiTLens.IO;
using VDiTLens.Models.Wan.Vae;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.Cli.Commands;

/// <summary>
/// <c>forward</c> on a Wan VAE folder (AutoencoderKLWan, Wan2.1 or Wan2.2): latents under <c>z</c> are decoded
/// (<c>decode</c>, clamped to [−1, 1] as diffusers' decode), a video under <c>video</c> is encoded (<c>encode_mean</c>,
/// <c>encode_logvar</c>), the keys of the VAE fixtures.
/// </summary>
internal static class WanVaeForward
{
    public static bool Handles(string path) =>
        !PipelineFolder.IsPipeline(path) && File.Exists(Path.Combine(path, "config.json"))
        && ModelFolder.Open(path).ClassName == "AutoencoderKLWan";

    public static int Run(string path, string inputs, string output, ComputeOptions options)
    {
        using var vae = WanVae.Load(ModelFolder.Open(path), options);
        var data = InputFile.Load(inputs, options, new[] { "z", "video" });
        if (data.Count == 0)
            throw new VDiTLensException($"{inputs}: no tensor 'z' (latents to decode) or 'video' (to encode) for the VAE at {path}");
        var outputs = new Dictionary<string, Tensor>();
        using (torch.no_grad())
        {
            if (data.TryGetValue("z", out var z)) outputs["decode"] = vae.Decode(z).to(ScalarType.Float32);
            if (data.TryGetValue("video", out var video))
            {
                var (mean, logVar) = vae.Encode(video);
                outputs["encode_mean"] = mean.to(ScalarType.Float32);
                outputs["encode_logvar"] = logVar.to(ScalarType.Float32);
            }
        }
        SafeTensorsWriter.Save(output, outputs);
        AnsiConsole.WriteLine($"wrote {output}: {string.Join(", ", outputs.Select(kv => $"{kv.Key} [{string.Join(", ", kv.Value.shape)}]"))}");
        return 0;
    }
}
