using VDiTLens.Models.Common;
using TorchSharp;
using VDiTLens.IO;
using VDiTLens.Models.Wan.Vae;
using VDiTLens.Runtime;
using static TorchSharp.torch;

namespace VDiTLens.Models.CogVideoX.Vae;

/// <summary>
/// The CogVideoX causal 3D VAE (diffusers' AutoencoderKLCogVideoX), parameter names identical to diffusers
/// checkpoints (e.g. THUDM/CogVideoX-5b/vae). Video [B, 3, 1+4k, 8h, 8w] in [-1, 1] ↔ latents [B, 16, 1+k, h, w].
/// Both directions run in frame batches as diffusers does (decode: <see cref="LatentFramesPerBatch"/> latent frames,
/// encode: <see cref="SampleFramesPerBatch"/> video frames, the first batch taking the leftover) with the causal
/// convolutions' caches carried across batches; each batch's temporaries are freed before the next.
/// </summary>
public sealed class CogVideoXVae : nn.Module
{
    public CogVideoXVaeConfig Config { get; }
    public ScalarType DType { get; }
    public Device Device { get; }

    /// <summary>diffusers' num_latent_frames_batch_size (2). The VAE was trained for 2; other values change the result.</summary>
    public int LatentFramesPerBatch
    {
        get => _latentFramesPerBatch;
        set => _latentFramesPerBatch = Positive(value, nameof(LatentFramesPerBatch));
    }

    /// <summary>diffusers' num_sample_frames_batch_size (8).</summary>
    public int SampleFramesPerBatch
    {
        get => _sampleFramesPerBatch;
        set => _sampleFramesPerBatch = Positive(value, nameof(SampleFramesPerBatch));
    }

    /// <summary>Spatial tiling for large frames (off when null, as in diffusers by default; <see cref="CogVideoXVaeTiling.For"/> gives diffusers' enable_tiling() defaults).</summary>
    public CogVideoXVaeTiling? Tiling
    {
        get => _tiling;
        set
        {
            value?.Validate(Config.SpatialScale);
            _tiling = value;
        }
    }

    private CogVideoXVaeTiling? _tiling;
    private int _latentFramesPerBatch = 2;
    private int _sampleFramesPerBatch = 8;

    public CogVideoXEncoder3D encoder;
    public CogVideoXDecoder3D decoder;

    public CogVideoXVae(CogVideoXVaeConfig config, Device device, ScalarType dtype) : base("AutoencoderKLCogVideoX")
    {
        Config = config;
        DType = dtype;
        Device = device;
        register_module("encoder", encoder = new CogVideoXEncoder3D(config, device, dtype));
        register_module("decoder", decoder = new CogVideoXDecoder3D(config, device, dtype));
        GroupNormInit.Reset(this);
    }

    public static CogVideoXVae Load(ModelFolder folder, ComputeOptions options) =>
        WeightLoader.LoadFolder(new CogVideoXVae(CogVideoXVaeConfig.Read(folder), options.Device, options.DType), folder);

    /// <summary>
    /// Decodes latents z [B, latent_channels, T, H, W] (already divided by the scaling factor, see
    /// <see cref="Unscale"/>) to video [B, out_channels, frames, 8H, 8W], unclamped as diffusers' decode(z).sample.
    /// </summary>
    public Tensor Decode(Tensor z)
    {
        CheckInput(z, Config.latent_channels, "latents z", "latent_channels");
        using var _ = torch.no_grad();
        int s = Config.SpatialScale;
        if (Tiling is { } tiling)
        {
            var (h, w) = (tiling.Height(s), tiling.Width(s));
            if (z.shape[3] > h.LatentTile || z.shape[4] > w.LatentTile)
            {
                var plan = new WanVaeTiler.Plan((h.LatentTile, w.LatentTile), (h.LatentStride, w.LatentStride),
                    (h.SampleRowLimit, w.SampleRowLimit), (h.SampleBlend, w.SampleBlend), (z.shape[3] * s, z.shape[4] * s));
                return WanVaeTiler.Run(z, plan, DecodeFrames);
            }
        }
        return DecodeFrames(z);
    }

    private Tensor DecodeFrames(Tensor z) => RunBatches(z, LatentFramesPerBatch, decoder.Forward);

    /// <summary>Encodes video [B, in_channels, T, H, W] in [-1, 1] to the latent distribution (diffusers' encode(x).latent_dist).</summary>
    public LatentDistribution Encode(Tensor video) => LatentDistribution.FromMoments(EncodeMoments(video));

    /// <summary>The encoder output [B, 2·latent_channels, T', H/8, W/8]: mean ‖ log-variance (unclamped).</summary>
    public Tensor EncodeMoments(Tensor video)
    {
        CheckInput(video, Config.in_channels, "video", "in_channels");
        using var _ = torch.no_grad();
        int s = Config.SpatialScale;
        if (Tiling is { } tiling)
        {
            var (h, w) = (tiling.Height(s), tiling.Width(s));
            if (video.shape[3] > h.SampleTile || video.shape[4] > w.SampleTile)
            {
                var plan = new WanVaeTiler.Plan((h.SampleTile, w.SampleTile), (h.SampleStride, w.SampleStride),
                    (h.LatentRowLimit, w.LatentRowLimit), (h.LatentBlend, w.LatentBlend), (EncodedSize(video.shape[3]), EncodedSize(video.shape[4])));
                return WanVaeTiler.Run(video, plan, EncodeFrames);
            }
        }
        return EncodeFrames(video);
    }

    private Tensor EncodeFrames(Tensor video) => RunBatches(video, SampleFramesPerBatch, encoder.Forward);

    /// <summary>Height or width after the downsamplers (pad 1 right/bottom, 3×3 stride 2: ⌊n/2⌋ each).</summary>
    private long EncodedSize(long pixels)
    {
        for (int i = 1; i < Config.block_out_channels.Length; i++) pixels = (pixels - 2) / 2 + 1;
        return pixels;
    }

    /// <summary>The pipelines' latents → VAE input: latents · (1 / scaling_factor).</summary>
    public Tensor Unscale(Tensor latents) => latents * (1.0 / Config.scaling_factor);

    /// <summary>VAE latents → the pipelines' latents: z · scaling_factor (with invert_scale_latents, z · (1 / scaling_factor), as the image-to-video pipeline does).</summary>
    public Tensor Scale(Tensor z) => Config.invert_scale_latents ? z * (1.0 / Config.scaling_factor) : z * Config.scaling_factor;

    private Tensor RunBatches(Tensor input, int batchSize, Func<Tensor, CogVideoXConvCache, Tensor> run)
    {
        using var cache = new CogVideoXConvCache();
        var outputs = new List<Tensor>();
        try
        {
            foreach (var (start, length) in CogVideoXFrameBatches.Split(input.shape[2], batchSize))
            {
                using var scope = torch.NewDisposeScope();
                cache.StartBatch();
                var batch = input.narrow(2, start, length).to(Device).to(DType);
                outputs.Add(run(batch, cache).DetachFromDisposeScope());
            }
            return outputs.Count == 1 ? outputs[0] : torch.cat(outputs, 2);
        }
        finally
        {
            if (outputs.Count > 1)
                foreach (var o in outputs) o.Dispose();
        }
    }

    private static int Positive(int value, string name) =>
        value >= 1 ? value : throw new VDiTLensException($"CogVideoXVae.{name} must be at least 1, got {value}");

    private static void CheckInput(Tensor x, int channels, string what, string field)
    {
        if (x.dim() != 5 || x.shape[1] != channels)
            throw new VDiTLensException($"CogVideoXVae: {what} must be [B, {channels}, T, H, W] ({field} = {channels}), got [{string.Join(", ", x.shape)}]");
        if (x.shape[2] < 1)
            throw new VDiTLensException($"CogVideoXVae: {what} has no frames");
    }
}
