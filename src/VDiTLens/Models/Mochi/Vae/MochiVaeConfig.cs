using VDiTLens.IO;
using VDiTLens.Models.Common;

namespace VDiTLens.Models.Mochi.Vae;

/// <summary>The fields of diffusers' AutoencoderKLMochi config.json (same names, same defaults: the Mochi-1 preview VAE).</summary>
public sealed record MochiVaeConfig
{
    /// <summary>Channels after the encoder's Fourier features: video channels × (1 + 2 · 2 frequencies).</summary>
    public int in_channels { get; init; } = 15;
    public int out_channels { get; init; } = 3;
    public int[] encoder_block_out_channels { get; init; } = { 64, 128, 256, 384 };
    public int[] decoder_block_out_channels { get; init; } = { 128, 256, 512, 768 };
    public int latent_channels { get; init; } = 12;
    public int[] layers_per_block { get; init; } = { 3, 3, 4, 6, 3 };
    public string act_fn { get; init; } = "silu";
    public int[] temporal_expansions { get; init; } = { 1, 2, 3 };
    public int[] spatial_expansions { get; init; } = { 2, 2, 2 };
    public bool[] add_attention_block { get; init; } = { false, true, true, true, true };

    public double[] latents_mean { get; init; } =
    {
        -0.06730895953510081, -0.038011381506090416, -0.07477820912866141, -0.05565264470995561,
        0.012767231469026969, -0.04703542746246419, 0.043896967884726704, -0.09346305707025976,
        -0.09918314763016893, -0.008729793427399178, -0.011931556316503654, -0.0321993391887285,
    };

    public double[] latents_std { get; init; } =
    {
        0.9263795028493863, 0.9248894543193766, 0.9393059390890617, 0.959253732819592,
        0.8244560132752793, 0.917259975397747, 0.9294154431013696, 1.3720942357788521,
        0.881393668867029, 0.9168315692124348, 0.9185249279345552, 0.9274757570805041,
    };

    public double scaling_factor { get; init; } = 1.0;

    /// <summary>FourierFeatures(start 6, stop 8, step 1): two frequencies, a sine and a cosine each, plus the input.</summary>
    public const int FourierFactor = 5;

    /// <summary>Channels per group of every MochiChunkedGroupNorm3D and per attention head (both fixed in diffusers).</summary>
    public const int GroupsAndHeadDim = 32;

    /// <summary>The video's channels, before the Fourier features (3).</summary>
    public int VideoChannels => in_channels / FourierFactor;

    /// <summary>Video frames per latent frame (6 for Mochi-1).</summary>
    public int TemporalScale => temporal_expansions.Aggregate(1, (a, b) => a * b);

    /// <summary>Pixels per latent pixel along height and width (8 for Mochi-1).</summary>
    public int SpatialScale => spatial_expansions.Aggregate(1, (a, b) => a * b);

    public static MochiVaeConfig Read(ModelFolder folder)
    {
        var r = new ConfigReader(folder.Config, Path.Combine(folder.Path, "config.json"));
        r.RejectUnless("_class_name", n => n is null || n.GetValue<string>() == "AutoencoderKLMochi", "a VAE class other than AutoencoderKLMochi");
        r.RejectUnless("act_fn", n => n is null || n.GetValue<string>() is "silu" or "swish", "an activation other than silu");
        var d = new MochiVaeConfig();
        var config = new MochiVaeConfig
        {
            in_channels = r.Get("in_channels", d.in_channels),
            out_channels = r.Get("out_channels", d.out_channels),
            encoder_block_out_channels = r.Get("encoder_block_out_channels", d.encoder_block_out_channels),
            decoder_block_out_channels = r.Get("decoder_block_out_channels", d.decoder_block_out_channels),
            latent_channels = r.Get("latent_channels", d.latent_channels),
            layers_per_block = r.Get("layers_per_block", d.layers_per_block),
            act_fn = r.Get("act_fn", d.act_fn),
            temporal_expansions = r.Get("temporal_expansions", d.temporal_expansions),
            spatial_expansions = r.Get("spatial_expansions", d.spatial_expansions),
            add_attention_block = r.Get("add_attention_block", d.add_attention_block),
            latents_mean = r.Get("latents_mean", d.latents_mean),
            latents_std = r.Get("latents_std", d.latents_std),
            scaling_factor = r.Get("scaling_factor", d.scaling_factor),
        };
        config.Validate(r.File);
        return config;
    }

    private void Validate(string file)
    {
        int stages = layers_per_block.Length;
        void Need(bool ok, string message)
        {
            if (!ok) throw new VDiTLensException($"{file}: {message}");
        }
        Need(stages >= 2, "field 'layers_per_block' needs at least 2 entries (block_in and block_out)");
        Need(encoder_block_out_channels.Length == stages - 1,
            $"field 'encoder_block_out_channels' must have {stages - 1} entries (one fewer than 'layers_per_block'), has {encoder_block_out_channels.Length}");
        Need(decoder_block_out_channels.Length == stages - 1,
            $"field 'decoder_block_out_channels' must have {stages - 1} entries (one fewer than 'layers_per_block'), has {decoder_block_out_channels.Length}");
        Need(temporal_expansions.Length == stages - 2,
            $"field 'temporal_expansions' must have {stages - 2} entries (one per down/up block), has {temporal_expansions.Length}");
        Need(spatial_expansions.Length == stages - 2,
            $"field 'spatial_expansions' must have {stages - 2} entries (one per down/up block), has {spatial_expansions.Length}");
        Need(add_attention_block.Length == stages,
            $"field 'add_attention_block' must have {stages} entries (one per 'layers_per_block' entry), has {add_attention_block.Length}");
        Need(temporal_expansions.All(e => e >= 1) && spatial_expansions.All(e => e >= 1),
            "fields 'temporal_expansions' and 'spatial_expansions' must be positive");
        Need(layers_per_block.All(n => n >= 0), "field 'layers_per_block' must not be negative");
        Need(in_channels > 0 && in_channels % FourierFactor == 0,
            $"field 'in_channels' = {in_channels} must be a multiple of {FourierFactor} (video channels × 5 after the Fourier features)");
        Need(out_channels > 0 && latent_channels > 0, "fields 'out_channels' and 'latent_channels' must be positive");
        foreach (var (field, channels) in new[] { ("encoder_block_out_channels", encoder_block_out_channels), ("decoder_block_out_channels", decoder_block_out_channels) })
            Need(channels.All(c => c > 0 && c % GroupsAndHeadDim == 0),
                $"field '{field}' = [{string.Join(", ", channels)}] must hold multiples of {GroupsAndHeadDim} (32 norm groups, attention heads of 32)");
        Need(latents_mean.Length == latent_channels, $"field 'latents_mean' must have latent_channels = {latent_channels} entries, has {latents_mean.Length}");
        Need(latents_std.Length == latent_channels, $"field 'latents_std' must have latent_channels = {latent_channels} entries, has {latents_std.Length}");
        Need(scaling_factor != 0, "field 'scaling_factor' must not be 0");
    }
}
