using VDiTLens.Models.Common;
using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Attention;
using VDiTLens.IO;
using VDiTLens.Models.Wan.Vae;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.Models.HunyuanVideo.Vae;

/// <summary>
/// HunyuanVideo's causal 3D VAE (diffusers' AutoencoderKLHunyuanVideo), parameter names identical to diffusers
/// checkpoints. Video [B, 3, 1+4k, 8h, 8w] ↔ latents [B, latent_channels, 1+k, h, w]. Up to 16 video / 4 latent
/// frames the whole clip runs at once; longer clips run in diffusers' default temporal tiles
/// (<see cref="HunyuanVideoVaeTemporalTiling"/>). diffusers' optional spatial tiling (enable_tiling) is not implemented.
/// </summary>
public sealed class HunyuanVideoVae : nn.Module
{
    public HunyuanVideoVaeConfig Config { get; }
    public AttentionSeam Seam { get; } = new();
    public IReadOnlyList<AttentionSite> Sites { get; }
    public Device Device { get; }
    public ScalarType DType { get; }

    public HunyuanVideoVaeEncoder encoder;
    public HunyuanVideoVaeDecoder decoder;
    public Conv3d quant_conv, post_quant_conv;

    public HunyuanVideoVae(HunyuanVideoVaeConfig config, Device device, ScalarType dtype) : base("AutoencoderKLHunyuanVideo")
    {
        Config = config;
        Device = device;
        DType = dtype;
        long z = config.latent_channels;
        register_module("encoder", encoder = new HunyuanVideoVaeEncoder(config, Seam, device, dtype));
        register_module("decoder", decoder = new HunyuanVideoVaeDecoder(config, Seam, device, dtype));
        register_module("quant_conv", quant_conv = nn.Conv3d(2 * z, 2 * z, 1, device: device, dtype: dtype));
        register_module("post_quant_conv", post_quant_conv = nn.Conv3d(z, z, 1, device: device, dtype: dtype));
        GroupNormInit.Reset(this);
        Sites = encoder.mid_block.Sites.Concat(decoder.mid_block.Sites).ToList();
    }

    public int TemporalScale => Config.temporal_compression_ratio;
    public int SpatialScale => Config.spatial_compression_ratio;

    public static HunyuanVideoVae Load(ModelFolder folder, ComputeOptions options) =>
        WeightLoader.LoadFolder(new HunyuanVideoVae(HunyuanVideoVaeConfig.Read(folder), options.Device, options.DType), folder);

    /// <summary>
    /// Spatial tiling of the decode (diffusers' <c>enable_tiling()</c>); null (the default, as diffusers' VAE) decodes
    /// each temporal tile whole. The pipeline turns it on, as diffusers' HunyuanVideo example does.
    /// </summary>
    public VaeSpatialTiling? Tiling { get; set; }

    /// <summary>diffusers' decode(z).sample: latents (already divided by scaling_factor) [B, C, T, H, W] → video [B, out, 1+4(T−1), 8H, 8W], not clamped.</summary>
    public Tensor Decode(Tensor z)
    {
        CheckInput(z, Config.latent_channels, "latents z", "latent_channels");
        using var _ = torch.no_grad();
        if (z.shape[2] > HunyuanVideoVaeTemporalTiling.SampleMinFrames / TemporalScale)
            return HunyuanVideoVaeTemporalTiling.Decode(z, TemporalScale, DecodeSpatial);
        return DecodeSpatial(z);
    }

    /// <summary>One temporal tile (or all of z): spatially tiled when <see cref="Tiling"/> is on and z is larger than a tile.</summary>
    private Tensor DecodeSpatial(Tensor z)
    {
        if (Tiling is { } tiling && tiling.Applies(z, SpatialScale))
        {
            using var scope = torch.NewDisposeScope();
            var x = z.to(Device).to(DType);
            return tiling.Decode(x, SpatialScale, tile => decoder.forward(CpuSafeConvolution.Conv3d(post_quant_conv, tile))).MoveToOuterDisposeScope();
        }
        return DecodeWhole(z);
    }

    /// <summary>post_quant_conv and the decoder over all of z at once (no temporal tiling).</summary>
    public Tensor DecodeWhole(Tensor z)
    {
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var x = z.to(Device).to(DType);
        return decoder.forward(CpuSafeConvolution.Conv3d(post_quant_conv, x)).MoveToOuterDisposeScope();
    }

    /// <summary>diffusers' encode(video).latent_dist for video [B, in, T, H, W].</summary>
    public LatentDistribution Encode(Tensor video) => LatentDistribution.FromMoments(EncodeMoments(video));

    /// <summary>The quant_conv output [B, 2·latent_channels, 1+(T−1)÷4, H÷8, W÷8]: mean ‖ log-variance (unclamped).</summary>
    public Tensor EncodeMoments(Tensor video)
    {
        CheckInput(video, Config.in_channels, "video", "in_channels");
        using var _ = torch.no_grad();
        if (video.shape[2] > HunyuanVideoVaeTemporalTiling.SampleMinFrames)
            return HunyuanVideoVaeTemporalTiling.Encode(video, TemporalScale, EncodeWhole);
        return EncodeWhole(video);
    }

    /// <summary>The encoder and quant_conv over all of the video at once (no temporal tiling).</summary>
    public Tensor EncodeWhole(Tensor video)
    {
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var x = video.to(Device).to(DType);
        return CpuSafeConvolution.Conv3d(quant_conv, encoder.forward(x)).MoveToOuterDisposeScope();
    }

    private static void CheckInput(Tensor x, int channels, string what, string field)
    {
        if (x.dim() != 5 || x.shape[1] != channels)
            throw new VDiTLensException($"HunyuanVideoVae: {what} must be [B, {channels}, T, H, W] ({field} = {channels}), got [{string.Join(", ", x.shape)}]");
        if (x.shape[2] < 1)
            throw new VDiTLensException($"HunyuanVideoVae: {what} has no frames");
    }
}
