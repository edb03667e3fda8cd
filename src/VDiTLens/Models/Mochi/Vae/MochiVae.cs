using VDiTLens.Attention;
using VDiTLens.Models.Common;
using TorchSharp;
using VDiTLens.IO;
using VDiTLens.Models.Wan.Vae;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.Models.Mochi.Vae;

/// <summary>
/// The Mochi-1 VAE (diffusers' AutoencoderKLMochi), parameter names identical to diffusers checkpoints.
/// Video [B, 3, T, 8h, 8w] ↔ latents [B, 12, 1 + (T − 1) / 6, h, w]. By default both directions run in one shot
/// (diffusers' default, replicate padding in the causal convolutions); <see cref="FramewiseDecoding"/> decodes
/// <see cref="LatentFramesPerBatch"/> latent frames at a time with the causal cache instead.
/// </summary>
public sealed class MochiVae : nn.Module
{
    public MochiVaeConfig Config { get; }
    public ScalarType DType { get; }
    public Device Device { get; }

    /// <summary>
    /// diffusers' use_framewise_decoding: latent frames in batches of <see cref="LatentFramesPerBatch"/> with the
    /// convolution caches, padding as pad_mode "constant" (zeros in space, cached frames in time). Less memory; the
    /// output differs slightly from the one-shot decode because the padding differs, as it does in diffusers.
    /// </summary>
    public bool FramewiseDecoding { get; set; }

    /// <summary>diffusers' num_latent_frames_batch_size.</summary>
    public int LatentFramesPerBatch { get; set; } = 2;

    /// <summary>diffusers' drop_last_temporal_frames: drop the first t − 1 decoded frames, giving 1 + t·(T − 1) frames.</summary>
    public bool DropLastTemporalFrames { get; set; } = true;

    /// <summary>The seam the encoder's attention goes through (the decoder has none).</summary>
    public AttentionSeam Seam { get; } = new();
    public IReadOnlyList<AttentionSite> Sites { get; }

    public MochiVaeEncoder encoder;
    public MochiVaeDecoder decoder;

    public MochiVae(MochiVaeConfig config, Device device, ScalarType dtype) : base("AutoencoderKLMochi")
    {
        Config = config;
        DType = dtype;
        Device = device;
        register_module("encoder", encoder = new MochiVaeEncoder(config, Seam, device, dtype));
        register_module("decoder", decoder = new MochiVaeDecoder(config, device, dtype));
        Sites = encoder.Sites.ToList();
        GroupNormInit.Reset(this);
    }

    public static MochiVae Load(ModelFolder folder, ComputeOptions options) =>
        WeightLoader.LoadFolder(new MochiVae(MochiVaeConfig.Read(folder), options.Device, options.DType), folder);

    /// <summary>
    /// Spatial tiling of the decode (diffusers' <c>enable_tiling()</c>; null, the default, decodes in one piece). Each
    /// tile is decoded as the untiled decode would (framewise or not, first frames dropped), then blended.
    /// MochiPipeline turns it on, as diffusers' Mochi example calls <c>pipe.enable_vae_tiling()</c>.
    /// </summary>
    public VaeSpatialTiling? Tiling { get; set; }

    /// <summary>Decodes de-normalised latents z [B, latent_channels, T, h, w] (diffusers' decode(z).sample; not clamped).</summary>
    public Tensor Decode(Tensor z)
    {
        CheckInput(z, Config.latent_channels, "latents z", "latent_channels");
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var latents = z.to(Device).to(DType);
        var video = Tiling is { } tiling && tiling.Applies(latents, Config.SpatialScale)
            ? tiling.Decode(latents, Config.SpatialScale, DecodeUntiled)
            : DecodeUntiled(latents);
        return video.contiguous().MoveToOuterDisposeScope();
    }

    private Tensor DecodeUntiled(Tensor latents)
    {
        var video = FramewiseDecoding ? DecodeFramewise(latents) : decoder.Forward(latents, null);
        int ts = Config.TemporalScale;
        if (DropLastTemporalFrames && video.shape[2] >= ts)
            video = video.narrow(2, ts - 1, video.shape[2] - (ts - 1));
        return video;
    }

    private Tensor DecodeFramewise(Tensor z)
    {
        if (LatentFramesPerBatch < 1)
            throw new VDiTLensException($"MochiVae: LatentFramesPerBatch must be at least 1, is {LatentFramesPerBatch}");
        using var cache = new MochiCausalCache();
        var parts = new List<Tensor>();
        try
        {
            for (long i = 0; i < z.shape[2]; i += LatentFramesPerBatch)
            {
                using var scope = torch.NewDisposeScope();
                var batch = z.narrow(2, i, Math.Min(LatentFramesPerBatch, z.shape[2] - i));
                parts.Add(decoder.Forward(batch, cache).DetachFromDisposeScope());
            }
            return torch.cat(parts, 2);
        }
        finally
        {
            foreach (var p in parts) p.Dispose();
        }
    }

    /// <summary>Encodes video [B, 3, T, H, W] in [-1, 1] to the latent distribution (diffusers' encode(x).latent_dist).</summary>
    public LatentDistribution Encode(Tensor video) => LatentDistribution.FromMoments(EncodeMoments(video));

    /// <summary>The encoder output [B, 2·latent_channels, T', h, w]: mean ‖ log-variance (unclamped).</summary>
    public Tensor EncodeMoments(Tensor video)
    {
        CheckInput(video, Config.VideoChannels, "video", "in_channels / 5");
        int s = Config.SpatialScale;
        if (video.shape[3] % s != 0 || video.shape[4] % s != 0)
            throw new VDiTLensException($"MochiVae.Encode: height and width ({video.shape[3]}×{video.shape[4]}) must be multiples of {s}");
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        return encoder.Forward(video.to(Device)).MoveToOuterDisposeScope();
    }

    /// <summary>MochiPipeline's de-normalisation before decoding: latents · std / scaling_factor + mean, per channel.</summary>
    public Tensor Denormalize(Tensor latents)
    {
        using var scope = torch.NewDisposeScope();
        var (mean, std) = Statistics(latents);
        return (latents * std / Config.scaling_factor + mean).MoveToOuterDisposeScope();
    }

    /// <summary>The inverse of <see cref="Denormalize"/>: (z − mean) · scaling_factor / std.</summary>
    public Tensor Normalize(Tensor z)
    {
        using var scope = torch.NewDisposeScope();
        var (mean, std) = Statistics(z);
        return ((z - mean) * Config.scaling_factor / std).MoveToOuterDisposeScope();
    }

    /// <summary>The pipeline builds the statistics with torch.tensor (float32), then casts them to the latents' dtype; [1, C, 1, 1, 1].</summary>
    private (Tensor Mean, Tensor Std) Statistics(Tensor like)
    {
        int c = Config.latent_channels;
        if (like.dim() != 5 || like.shape[1] != c)
            throw new VDiTLensException($"MochiVae: latents must be [B, {c}, T, H, W], got [{string.Join(", ", like.shape)}]");
        var mean = torch.tensor(Config.latents_mean.Select(v => (float)v).ToArray()).view(1, c, 1, 1, 1).to(like.device).to(like.dtype);
        var std = torch.tensor(Config.latents_std.Select(v => (float)v).ToArray()).view(1, c, 1, 1, 1).to(like.device).to(like.dtype);
        return (mean, std);
    }

    private static void CheckInput(Tensor x, int channels, string what, string field)
    {
        if (x.dim() != 5 || x.shape[1] != channels)
            throw new VDiTLensException($"MochiVae: {what} must be [B, {channels}, T, H, W] ({field} = {channels}), got [{string.Join(", ", x.shape)}]");
        if (x.shape[2] < 1)
            throw new VDiTLensException($"MochiVae: {what} has no frames");
    }
}
