using VDiTLens.IO;
using VDiTLens.Models.Common;

namespace VDiTLens.Models.HunyuanVideo.Vae;

/// <summary>The fields of diffusers' AutoencoderKLHunyuanVideo config.json (same names, same defaults: the released VAE).</summary>
public sealed record HunyuanVideoVaeConfig
{
    public const string DownBlockType = "HunyuanVideoDownBlock3D";
    public const string UpBlockType = "HunyuanVideoUpBlock3D";

    public int in_channels { get; init; } = 3;
    public int out_channels { get; init; } = 3;
    public int latent_channels { get; init; } = 16;
    public string[] down_block_types { get; init; } = { DownBlockType, DownBlockType, DownBlockType, DownBlockType };
    public string[] up_block_types { get; init; } = { UpBlockType, UpBlockType, UpBlockType, UpBlockType };
    public int[] block_out_channels { get; init; } = { 128, 256, 512, 512 };
    public int layers_per_block { get; init; } = 2;
    public string act_fn { get; init; } = "silu";
    public int norm_num_groups { get; init; } = 32;
    public double scaling_factor { get; init; } = 0.476986;
    public int spatial_compression_ratio { get; init; } = 8;
    public int temporal_compression_ratio { get; init; } = 4;
    public bool mid_block_add_attention { get; init; } = true;

    public int SpatialDownsamplings => Log2(spatial_compression_ratio);
    public int TemporalDownsamplings => Log2(temporal_compression_ratio);

    /// <summary>Encoder block i halves height and width (decoder block i doubles them): the first log2(spatial ratio) blocks.</summary>
    public bool SpatialResample(int block) => block < SpatialDownsamplings;

    /// <summary>Encoder block i halves time (decoder block i doubles it): the log2(temporal ratio) blocks before the last.</summary>
    public bool TemporalResample(int block) =>
        block >= block_out_channels.Length - 1 - TemporalDownsamplings && block != block_out_channels.Length - 1;

    public static HunyuanVideoVaeConfig Read(ModelFolder folder)
    {
        var r = new ConfigReader(folder.Config, Path.Combine(folder.Path, "config.json"));
        var d = new HunyuanVideoVaeConfig();
        var config = new HunyuanVideoVaeConfig
        {
            in_channels = r.Get("in_channels", d.in_channels),
            out_channels = r.Get("out_channels", d.out_channels),
            latent_channels = r.Get("latent_channels", d.latent_channels),
            down_block_types = r.Get("down_block_types", d.down_block_types),
            up_block_types = r.Get("up_block_types", d.up_block_types),
            block_out_channels = r.Get("block_out_channels", d.block_out_channels),
            layers_per_block = r.Get("layers_per_block", d.layers_per_block),
            act_fn = r.Get("act_fn", d.act_fn),
            norm_num_groups = r.Get("norm_num_groups", d.norm_num_groups),
            scaling_factor = r.Get("scaling_factor", d.scaling_factor),
            spatial_compression_ratio = r.Get("spatial_compression_ratio", d.spatial_compression_ratio),
            temporal_compression_ratio = r.Get("temporal_compression_ratio", d.temporal_compression_ratio),
            mid_block_add_attention = r.Get("mid_block_add_attention", d.mid_block_add_attention),
        };
        config.Validate(r.File);
        return config;
    }

    private void Validate(string file)
    {
        int n = block_out_channels.Length;
        if (n < 1 || block_out_channels.Any(c => c <= 0))
            throw new VDiTLensException($"{file}: field 'block_out_channels' must list at least one positive channel count");
        if (down_block_types.Length != n || down_block_types.Any(t => t != DownBlockType))
            throw new VDiTLensException($"{file}: field 'down_block_types' must be {n} × \"{DownBlockType}\" (one per block_out_channels entry)");
        if (up_block_types.Length != n || up_block_types.Any(t => t != UpBlockType))
            throw new VDiTLensException($"{file}: field 'up_block_types' must be {n} × \"{UpBlockType}\" (one per block_out_channels entry)");
        if (act_fn is not ("silu" or "swish"))
            throw new VDiTLensException($"{file}: field 'act_fn' = \"{act_fn}\" is not supported (use silu)");
        // diffusers' decoder accepts only 4; its encoder would take 8 but the VAE could not decode it.
        if (temporal_compression_ratio != 4)
            throw new VDiTLensException($"{file}: field 'temporal_compression_ratio' = {temporal_compression_ratio} is not supported (diffusers' decoder supports only 4)");
        if (Log2(spatial_compression_ratio) < 0 || SpatialDownsamplings > n)
            throw new VDiTLensException($"{file}: field 'spatial_compression_ratio' = {spatial_compression_ratio} must be a power of two of at most 2^{n} (one halving per block)");
        if (TemporalDownsamplings > n - 1)
            throw new VDiTLensException($"{file}: field 'temporal_compression_ratio' = {temporal_compression_ratio} needs more blocks than 'block_out_channels' has");
        if (norm_num_groups <= 0 || block_out_channels.Any(c => c % norm_num_groups != 0))
            throw new VDiTLensException($"{file}: field 'norm_num_groups' = {norm_num_groups} must divide every 'block_out_channels' entry");
        if (layers_per_block < 1 || latent_channels <= 0 || in_channels <= 0 || out_channels <= 0)
            throw new VDiTLensException($"{file}: fields 'layers_per_block', 'latent_channels', 'in_channels', 'out_channels' must be positive");
        if (scaling_factor == 0)
            throw new VDiTLensException($"{file}: field 'scaling_factor' must not be 0");
    }

    private static int Log2(int v) => v > 0 && (v & (v - 1)) == 0 ? System.Numerics.BitOperations.Log2((uint)v) : -1;
}
