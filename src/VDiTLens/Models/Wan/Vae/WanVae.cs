using VDiTLens.Models.Common;
using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.IO;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.Models.Wan.Vae;

/// <summary>
/// The Wan2.1 and Wan2.2 causal 3D VAEs (diffusers' AutoencoderKLWan), parameter names identical to diffusers
/// checkpoints. Video [B, 3, 1+4k, s·h, s·w] in [-1, 1] ↔ latents [B, z_dim, 1+k, h, w], s = 8 (Wan2.1) or 16 (Wan2.2:
/// 2×2 pixel patches, residual blocks). Both directions run one time chunk
/// at a time with the causal cache (decode: one latent frame; encode: frames 1, 4, 4, …), so memory does not
/// grow with the number of frames; each chunk's temporaries are freed before the next.
/// </summary>
public sealed class WanVae : nn.Module
{
    public WanVaeConfig Config { get; }
    public AttentionSeam Seam { get; } = new();
    public IReadOnlyList<AttentionSite> Sites { get; }
    public ScalarType DType { get; }
    public Device Device { get; }

    /// <summary>Spatial tiling for large frames (off when null, as in diffusers by default).</summary>
    public WanVaeTiling? Tiling
    {
        get => _tiling;
        set
        {
            if (value is not null && Config.PatchSize != 1)
                throw new VDiTLensException($"WanVae: spatial tiling of a VAE with patch_size {Config.PatchSize} (the Wan2.2 VAE) is not supported; leave Tiling null");
            value?.Validate(Config.SpatialScale);
            _tiling = value;
        }
    }

    private WanVaeTiling? _tiling;

    public WanVaeEncoder encoder;
    public WanCausalConv3d quant_conv;
    public WanCausalConv3d post_quant_conv;
    public WanVaeDecoder decoder;

    public WanVae(WanVaeConfig config, Device device, ScalarType dtype) : base("AutoencoderKLWan")
    {
        Config = config;
        DType = dtype;
        Device = device;
        register_module("encoder", encoder = new WanVaeEncoder(config, Seam, device, dtype));
        register_module("quant_conv", quant_conv = WanCausalConv3d.Cube(config.z_dim * 2, config.z_dim * 2, 1, 0, device, dtype));
        register_module("post_quant_conv", post_quant_conv = WanCausalConv3d.Cube(config.z_dim, config.z_dim, 1, 0, device, dtype));
        register_module("decoder", decoder = new WanVaeDecoder(config, Seam, device, dtype));
        Sites = encoder.Sites.Concat(decoder.Sites).ToList();
    }

    public static WanVae Load(ModelFolder folder, ComputeOptions options) =>
        WeightLoader.LoadFolder(new WanVae(WanVaeConfig.Read(folder), options.Device, options.DType), folder);

    /// <summary>Decodes de-normalised latents z [B, z_dim, T, H, W] to video [B, out_channels, 1+4(T-1), 8H, 8W] clamped to [-1, 1].</summary>
    public Tensor Decode(Tensor z)
    {
        var video = DecodeUnclamped(z);
        video.clamp_(-1.0, 1.0);
        return video;
    }

    /// <summary>The decoder output before diffusers' final clamp.</summary>
    public Tensor DecodeUnclamped(Tensor z)
    {
        CheckInput(z, Config.z_dim, "latents z", "z_dim");
        using var _ = torch.no_grad();
        int s = Config.SpatialScale;
        if (Tiling is { } tiling && (z.shape[3] > tiling.MinHeight / s || z.shape[4] > tiling.MinWidth / s))
        {
            var plan = new WanVaeTiler.Plan(
                (tiling.MinHeight / s, tiling.MinWidth / s), (tiling.StrideHeight / s, tiling.StrideWidth / s),
                (tiling.StrideHeight, tiling.StrideWidth), (tiling.MinHeight - tiling.StrideHeight, tiling.MinWidth - tiling.StrideWidth),
                (z.shape[3] * s, z.shape[4] * s));
            return WanVaeTiler.Run(z, plan, DecodeFrames);
        }
        return DecodeFrames(z);
    }

    /// <summary>The decoder over all latent frames, one at a time with the causal cache.</summary>
    private Tensor DecodeFrames(Tensor z)
    {
        long b = z.shape[0], t = z.shape[2], h = z.shape[3], w = z.shape[4];
        int ts = Config.TemporalScale, s = Config.DecoderScale;
        var video = torch.empty(new[] { b, Config.out_channels, 1 + ts * (t - 1), h * s, w * s }, DType, Device);
        using var cache = new WanCausalCache();
        long written = 0;
        for (long i = 0; i < t; i++)
        {
            using var scope = torch.NewDisposeScope();
            cache.StartChunk();
            var latent = z.narrow(2, i, 1).to(Device).to(DType);
            var frames = decoder.Forward(post_quant_conv.forward(latent), cache);
            video.narrow(2, written, frames.shape[2]).copy_(frames);
            written += frames.shape[2];
        }
        if (written != video.shape[2])
            throw new InvalidOperationException($"decoder produced {written} frames, expected {video.shape[2]}");
        if (Config.PatchSize == 1) return video;
        using (video) return WanVaePatches.Unpatchify(video, Config.PatchSize);
    }

    /// <summary>Encodes video [B, in_channels, 1+4k, 8h, 8w] in [-1, 1] to the latent distribution (diffusers' encode(x).latent_dist).</summary>
    public LatentDistribution Encode(Tensor video) => LatentDistribution.FromMoments(EncodeMoments(video));

    /// <summary>The quant_conv output [B, 2·z_dim, 1+k, h, w]: mean ‖ log-variance (unclamped).</summary>
    public Tensor EncodeMoments(Tensor video)
    {
        CheckInput(video, Config.VideoInChannels, "video", Config.PatchSize == 1 ? "in_channels" : "in_channels / patch_size²");
        long frames = video.shape[2];
        int ts = Config.TemporalScale, s = Config.SpatialScale;
        if ((frames - 1) % ts != 0)
            throw new VDiTLensException($"WanVae.Encode: the video has {frames} frames; the Wan VAE needs 1 + {ts}·k frames");
        if (video.shape[3] % s != 0 || video.shape[4] % s != 0)
            throw new VDiTLensException($"WanVae.Encode: height and width ({video.shape[3]}×{video.shape[4]}) must be multiples of {s}");
        using var _ = torch.no_grad();
        if (Tiling is { } tiling && (video.shape[3] > tiling.MinHeight || video.shape[4] > tiling.MinWidth))
        {
            var plan = new WanVaeTiler.Plan(
                (tiling.MinHeight, tiling.MinWidth), (tiling.StrideHeight, tiling.StrideWidth),
                (tiling.StrideHeight / s, tiling.StrideWidth / s), ((tiling.MinHeight - tiling.StrideHeight) / s, (tiling.MinWidth - tiling.StrideWidth) / s),
                (video.shape[3] / s, video.shape[4] / s));
            return WanVaeTiler.Run(video, plan, EncodeFrames);
        }
        return EncodeFrames(video);
    }

    /// <summary>The encoder and quant_conv over all frames in chunks 1, 4, 4, … with the causal cache.</summary>
    private Tensor EncodeFrames(Tensor video)
    {
        long frames = video.shape[2];
        using var cache = new WanCausalCache();
        var chunks = new List<Tensor>();
        try
        {
            // diffusers' chunks: the first frame alone, then groups of 4 (fixed, whatever the temporal scale)
            for (long start = 0; start < frames; start = start == 0 ? 1 : start + 4)
            {
                using var scope = torch.NewDisposeScope();
                cache.StartChunk();
                long length = start == 0 ? 1 : Math.Min(4, frames - start);
                var chunk = video.narrow(2, start, length).to(Device).to(DType);
                if (Config.PatchSize != 1) chunk = WanVaePatches.Patchify(chunk, Config.PatchSize);
                chunks.Add(quant_conv.forward(encoder.Forward(chunk, cache)).DetachFromDisposeScope());
            }
            return torch.cat(chunks, 2);
        }
        finally
        {
            foreach (var c in chunks) c.Dispose();
        }
    }

    /// <summary>WanPipeline's de-normalisation of the transformer's latents: z = latents / (1 / std) + mean, per channel.</summary>
    public Tensor Denormalize(Tensor latents)
    {
        using var scope = torch.NewDisposeScope();
        var (mean, inverseStd) = Statistics(latents);
        return (latents / inverseStd + mean).MoveToOuterDisposeScope();
    }

    /// <summary>The inverse of <see cref="Denormalize"/>: (z − mean) · (1 / std), as diffusers' Wan video-to-video pipelines do.</summary>
    public Tensor Normalize(Tensor z)
    {
        using var scope = torch.NewDisposeScope();
        var (mean, inverseStd) = Statistics(z);
        return ((z - mean) * inverseStd).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The pipeline builds the statistics with torch.tensor (float32) and casts them to the latents' dtype and
    /// device before taking 1/std; shaped [1, z_dim, 1, 1, 1].
    /// </summary>
    private (Tensor Mean, Tensor InverseStd) Statistics(Tensor like)
    {
        if (like.dim() != 5 || like.shape[1] != Config.z_dim)
            throw new VDiTLensException($"WanVae: latents must be [B, {Config.z_dim}, T, H, W], got [{string.Join(", ", like.shape)}]");
        var mean = torch.tensor(Config.latents_mean.Select(v => (float)v).ToArray()).view(1, Config.z_dim, 1, 1, 1).to(like.device).to(like.dtype);
        var std = torch.tensor(Config.latents_std.Select(v => (float)v).ToArray()).view(1, Config.z_dim, 1, 1, 1).to(like.device).to(like.dtype);
        return (mean, 1.0 / std);
    }

    private static void CheckInput(Tensor x, int channels, string what, string field)
    {
        if (x.dim() != 5 || x.shape[1] != channels)
            throw new VDiTLensException($"WanVae: {what} must be [B, {channels}, T, H, W] ({field} = {channels}), got [{string.Join(", ", x.shape)}]");
        if (x.shape[2] < 1)
            throw new VDiTLensException($"WanVae: {what} has no frames");
    }
}
