using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Attention;
using VDiTLens.Models.Common;
using static TorchSharp.torch;

namespace VDiTLens.Models.CogVideoX;

/// <summary>
/// diffusers' CogVideoXPatchEmbed (CogVideoX 1.0): text projection, per-frame 2D patch convolution, joint
/// sequence [text, video], plus the 3D sin-cos positional table when rotary embeddings are off (2B style).
/// </summary>
public sealed class CogVideoXPatchEmbed : nn.Module
{
    private readonly CogVideoXConfig _config;
    public Conv2d proj;
    public Linear text_proj;

    public CogVideoXPatchEmbed(CogVideoXConfig c, Device device, ScalarType dtype) : base("CogVideoXPatchEmbed")
    {
        _config = c;
        long p = c.patch_size;
        register_module("proj", proj = nn.Conv2d(c.in_channels, c.InnerDim, (p, p), stride: (p, p), bias: c.patch_bias, device: device, dtype: dtype));
        register_module("text_proj", text_proj = Layers.Linear(c.text_embed_dim, c.InnerDim, device, dtype));
    }

    // The last table used (it is large for real sizes: tokens × dim); a Tensor field would be registered as a buffer.
    private readonly Dictionary<string, Tensor> _positions = new();

    /// <summary>
    /// diffusers uses its buffer built for the sample_* size or rebuilds it for other sizes: the same table, built in
    /// float64 and cast to the model dtype as diffusers does.
    /// </summary>
    private Tensor Positions(VideoGrid grid, int textLength, Tensor like)
    {
        string key = $"{grid}|{textLength}|{like.dtype}|{like.device}";
        if (_positions.TryGetValue(key, out var cached)) return cached;
        foreach (var old in _positions.Values) old.Dispose();
        _positions.Clear();
        using var scope = torch.NewDisposeScope();
        var table = CogVideoXSinCosPositions.Joint(_config.InnerDim, grid, textLength,
            _config.spatial_interpolation_scale, _config.temporal_interpolation_scale).to(like.dtype).to(like.device);
        _positions[key] = table.DetachFromDisposeScope();
        return table;
    }

    public bool UsesSinCosPositions => !_config.use_rotary_positional_embeddings;

    /// <param name="text">[B, L, text_embed_dim]</param>
    /// <param name="latents">[B, F, C, H, W]</param>
    /// <returns>[B, L + F·H/p·W/p, dim]</returns>
    public Tensor Forward(Tensor text, Tensor latents, VideoGrid grid)
    {
        using var scope = torch.NewDisposeScope();
        var t = text_proj.forward(text);
        long b = latents.shape[0], f = latents.shape[1];
        var frames = CpuSafeConvolution.Conv2d(proj, stride: proj.weight!.shape[2..], x: latents.reshape(b * f, latents.shape[2], latents.shape[3], latents.shape[4]));
        var video = frames.view(b, f, frames.shape[1], frames.shape[2] * frames.shape[3]).transpose(2, 3).flatten(1, 2);
        var embeds = torch.cat(new[] { t, video }, 1).contiguous();
        if (UsesSinCosPositions)
        {
            embeds = embeds + Positions(grid, (int)text.shape[1], embeds);
        }
        return embeds.MoveToOuterDisposeScope();
    }
}
