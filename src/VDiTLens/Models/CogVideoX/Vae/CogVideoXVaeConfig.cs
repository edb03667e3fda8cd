using VDiTLens.IO;
using VDiTLens.Models.Common;

namespace VDiTLens.Models.CogVideoX.Vae;

/// <summary>
/// The fields of diffusers' AutoencoderKLCogVideoX config.json (same names, same defaults: the CogVideoX-2b/5b VAE).
/// shift_factor, latents_mean, latents_std and force_upcast are read for completeness; the model does not use them.
/// </summary>
public sealed record CogVideoXVaeConfig
{
    public const string DownBlock = "CogVideoXDownBlock3D";
    public const string UpBlock = "CogVideoXUpBlock3D";

    public int in_channels { get; init; } = 3;
    public int out_channels { get; init; } = 3;
    public string[] down_block_types { get; init; } = { DownBlock, DownBlock, DownBlock, DownBlock };
    public string[] up_block_types { get; init; } = { UpBlock, UpBlock, UpBlock, UpBlock };
    public int[] block_out_channels { get; init; } = { 128, 256, 256, 512 };
    public int latent_channels { get; init; } = 16;
    public int layers_per_block { get; init; } = 3;
    public string act_fn { get; init; } = "silu";
    public double norm_eps { get; init; } = 1e-6;
    public int norm_num_groups { get; init; } = 32;
    public double temporal_compression_ratio { get; init; } = 4;
    public int sample_height { get; init; } = 480;
    public int sample_width { get; init; } = 720;
    public double scaling_factor { get; init; } = 1.15258426;
    public double? shift_factor { get; init; }
    public double[]? latents_mean { get; init; }
    public double[]? latents_std { get; init; }
    public bool force_upcast { get; init; } = true;
    public bool use_quant_conv { get; init; }
    public bool use_post_quant_conv { get; init; }
    public bool invert_scale_latents { get; init; }

    /// <summary>How many of the first blocks also halve (encoder) or double (decoder) time: log2 of the ratio.</summary>
    public int TemporalLevels => (int)Math.Round(Math.Log2(temporal_compression_ratio));

    /// <summary>Video frames per latent frame after the first (4 for CogVideoX).</summary>
    public int TemporalScale => 1 << TemporalLevels;

    /// <summary>Pixels per latent pixel along height and width (8 for CogVideoX).</summary>
    public int SpatialScale => 1 << (block_out_channels.Length - 1);

    public static CogVideoXVaeConfig Read(ModelFolder folder)
    {
        var r = new ConfigReader(folder.Config, Path.Combine(folder.Path, "config.json"));
        var d = new CogVideoXVaeConfig();
        var config = new CogVideoXVaeConfig
        {
            in_channels = r.Get("in_channels", d.in_channels),
            out_channels = r.Get("out_channels", d.out_channels),
            down_block_types = r.Get("down_block_types", d.down_block_types),
            up_block_types = r.Get("up_block_types", d.up_block_types),
            block_out_channels = r.Get("block_out_channels", d.block_out_channels),
            latent_channels = r.Get("latent_channels", d.latent_channels),
            layers_per_block = r.Get("layers_per_block", d.layers_per_block),
            act_fn = r.Get("act_fn", d.act_fn),
            norm_eps = r.Get("norm_eps", d.norm_eps),
            norm_num_groups = r.Get("norm_num_groups", d.norm_num_groups),
            temporal_compression_ratio = r.Get("temporal_compression_ratio", d.temporal_compression_ratio),
            sample_height = r.Get("sample_height", d.sample_height),
            sample_width = r.Get("sample_width", d.sample_width),
            scaling_factor = r.Get("scaling_factor", d.scaling_factor),
            shift_factor = r.Get("shift_factor", d.shift_factor),
            latents_mean = r.Get("latents_mean", d.latents_mean),
            latents_std = r.Get("latents_std", d.latents_std),
            force_upcast = r.Get("force_upcast", d.force_upcast),
            use_quant_conv = r.Get("use_quant_conv", d.use_quant_conv),
            use_post_quant_conv = r.Get("use_post_quant_conv", d.use_post_quant_conv),
            invert_scale_latents = r.Get("invert_scale_latents", d.invert_scale_latents),
        };
        config.Validate(r.File);
        return config;
    }

    public void Validate(string file)
    {
        int n = block_out_channels.Length;
        if (n < 1)
            throw new VDiTLensException($"{file}: field 'block_out_channels' must have at least one entry");
        if (down_block_types.Length != n || down_block_types.Any(t => t != DownBlock))
            throw new VDiTLensException($"{file}: field 'down_block_types' must list '{DownBlock}' once per entry of 'block_out_channels' ({n}); got [{string.Join(", ", down_block_types)}]");
        if (up_block_types.Length != n || up_block_types.Any(t => t != UpBlock))
            throw new VDiTLensException($"{file}: field 'up_block_types' must list '{UpBlock}' once per entry of 'block_out_channels' ({n}); got [{string.Join(", ", up_block_types)}]");
        if (act_fn is not ("silu" or "swish"))
            throw new VDiTLensException($"{file}: field 'act_fn' = '{act_fn}' is not supported (supported: silu, swish)");
        // diffusers builds quant_conv from out_channels rather than latent_channels; no released checkpoint uses either
        if (use_quant_conv)
            throw new VDiTLensException($"{file}: field 'use_quant_conv' = true is not supported (no released CogVideoX VAE has a quant_conv); set it to false");
        if (use_post_quant_conv)
            throw new VDiTLensException($"{file}: field 'use_post_quant_conv' = true is not supported (no released CogVideoX VAE has a post_quant_conv); set it to false");
        double levels = Math.Log2(temporal_compression_ratio);
        if (temporal_compression_ratio < 1 || levels != Math.Round(levels) || levels > n - 1)
            throw new VDiTLensException($"{file}: field 'temporal_compression_ratio' = {temporal_compression_ratio} must be a power of 2 no larger than 2^{n - 1} (one halving per downsampling block)");
        if (in_channels <= 0 || out_channels <= 0 || latent_channels <= 0 || layers_per_block < 0 || block_out_channels.Any(c => c <= 0))
            throw new VDiTLensException($"{file}: fields 'in_channels', 'out_channels', 'latent_channels', 'block_out_channels' must be positive and 'layers_per_block' non-negative");
        if (norm_num_groups <= 0 || block_out_channels.Any(c => c % norm_num_groups != 0))
            throw new VDiTLensException($"{file}: field 'norm_num_groups' = {norm_num_groups} must divide every entry of 'block_out_channels' [{string.Join(", ", block_out_channels)}]");
        if (scaling_factor == 0)
            throw new VDiTLensException($"{file}: field 'scaling_factor' must not be 0");
    }
}
