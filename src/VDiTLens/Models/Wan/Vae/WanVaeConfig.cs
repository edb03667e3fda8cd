using VDiTLens.IO;
using VDiTLens.Models.Common;

namespace VDiTLens.Models.Wan.Vae;

/// <summary>
/// The fields of diffusers' AutoencoderKLWan config.json (same names, same defaults: the Wan2.1 VAE). The Wan2.2 VAE
/// sets <see cref="is_residual"/> (residual down/up blocks) and <see cref="patch_size"/> 2 (2×2 pixel patches as 12
/// input/output channels), with z_dim 48: 16× spatial compression.
/// </summary>
public sealed record WanVaeConfig
{
    public int base_dim { get; init; } = 96;
    public int? decoder_base_dim { get; init; }
    public int z_dim { get; init; } = 16;
    public int[] dim_mult { get; init; } = { 1, 2, 4, 4 };
    public int num_res_blocks { get; init; } = 2;
    public double[] attn_scales { get; init; } = Array.Empty<double>();
    public bool[] temperal_downsample { get; init; } = { false, true, true };
    public double dropout { get; init; }
    public int in_channels { get; init; } = 3;
    public int out_channels { get; init; } = 3;
    public bool is_residual { get; init; }
    public int? patch_size { get; init; }

    public double[] latents_mean { get; init; } =
    {
        -0.7571, -0.7089, -0.9113, 0.1075, -0.1745, 0.9653, -0.1517, 1.5508,
        0.4134, -0.0715, 0.5517, -0.3632, -0.1922, -0.9497, 0.2503, -0.2921,
    };

    public double[] latents_std { get; init; } =
    {
        2.8184, 1.4541, 2.3275, 2.6558, 1.2196, 1.7708, 2.6052, 2.0743,
        3.2687, 2.1526, 2.8652, 1.5579, 1.6382, 1.1253, 2.8251, 1.9160,
    };

    public int DecoderDim => decoder_base_dim ?? base_dim;

    /// <summary>The decoder upsamples in time where the encoder downsampled, in reverse order.</summary>
    public bool[] TemporalUpsample => temperal_downsample.Reverse().ToArray();

    /// <summary>Video frames per latent frame after the first (4 for Wan2.1).</summary>
    public int TemporalScale => 1 << temperal_downsample.Count(t => t);

    /// <summary>Pixel-patch size (1 without patchify).</summary>
    public int PatchSize => patch_size ?? 1;

    /// <summary>Decoder output pixels (patches, with patchify) per latent pixel.</summary>
    public int DecoderScale => 1 << (dim_mult.Length - 1);

    /// <summary>Pixels per latent pixel along height and width (8 for Wan2.1, 16 for Wan2.2).</summary>
    public int SpatialScale => DecoderScale * PatchSize;

    /// <summary>Colour channels of the video the encoder reads: in_channels, before patchify packed them.</summary>
    public int VideoInChannels => in_channels / (PatchSize * PatchSize);

    /// <summary>Colour channels of the decoded video.</summary>
    public int VideoOutChannels => out_channels / (PatchSize * PatchSize);

    public static WanVaeConfig Read(ModelFolder folder)
    {
        var r = new ConfigReader(folder.Config, Path.Combine(folder.Path, "config.json"));
        var d = new WanVaeConfig();
        var config = new WanVaeConfig
        {
            base_dim = r.Get("base_dim", d.base_dim),
            decoder_base_dim = r.Get("decoder_base_dim", d.decoder_base_dim),
            z_dim = r.Get("z_dim", d.z_dim),
            dim_mult = r.Get("dim_mult", d.dim_mult),
            num_res_blocks = r.Get("num_res_blocks", d.num_res_blocks),
            attn_scales = r.Get("attn_scales", d.attn_scales),
            temperal_downsample = r.Get("temperal_downsample", d.temperal_downsample),
            dropout = r.Get("dropout", d.dropout),
            in_channels = r.Get("in_channels", d.in_channels),
            out_channels = r.Get("out_channels", d.out_channels),
            latents_mean = r.Get("latents_mean", d.latents_mean),
            latents_std = r.Get("latents_std", d.latents_std),
            is_residual = r.Get("is_residual", d.is_residual),
            patch_size = r.Get("patch_size", d.patch_size),
        };
        config.Validate(r.File);
        if (r.Has("scale_factor_temporal") && r.Get("scale_factor_temporal", 0) != config.TemporalScale)
            throw new VDiTLensException($"{r.File}: field 'scale_factor_temporal' = {r.Get("scale_factor_temporal", 0)} disagrees with 'temperal_downsample' (which gives {config.TemporalScale})");
        if (r.Has("scale_factor_spatial") && r.Get("scale_factor_spatial", 0) != config.SpatialScale)
            throw new VDiTLensException($"{r.File}: field 'scale_factor_spatial' = {r.Get("scale_factor_spatial", 0)} disagrees with 'dim_mult' (which gives {config.SpatialScale})");
        return config;
    }

    private void Validate(string file)
    {
        if (dim_mult.Length < 1)
            throw new VDiTLensException($"{file}: field 'dim_mult' must have at least one entry");
        if (temperal_downsample.Length != dim_mult.Length - 1)
            throw new VDiTLensException($"{file}: field 'temperal_downsample' must have {dim_mult.Length - 1} entries (one per downsampling stage of 'dim_mult'), has {temperal_downsample.Length}");
        if (latents_mean.Length != z_dim)
            throw new VDiTLensException($"{file}: field 'latents_mean' must have z_dim = {z_dim} entries, has {latents_mean.Length}");
        if (latents_std.Length != z_dim)
            throw new VDiTLensException($"{file}: field 'latents_std' must have z_dim = {z_dim} entries, has {latents_std.Length}");
        if (latents_std.Any(s => s == 0))
            throw new VDiTLensException($"{file}: field 'latents_std' contains 0");
        if (patch_size is { } p && (p < 1 || in_channels % (p * p) != 0 || out_channels % (p * p) != 0))
            throw new VDiTLensException($"{file}: field 'patch_size' = {p} must be positive and divide 'in_channels' ({in_channels}) and 'out_channels' ({out_channels}) as patch_size² × colour channels");
        if (base_dim <= 0 || DecoderDim <= 0 || z_dim <= 0 || num_res_blocks < 0)
            throw new VDiTLensException($"{file}: fields 'base_dim', 'decoder_base_dim', 'z_dim' must be positive and 'num_res_blocks' non-negative");
    }
}
