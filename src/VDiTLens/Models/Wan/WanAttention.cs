using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Attention;
using VDiTLens.Models.Common;
using static TorchSharp.torch;

namespace VDiTLens.Models.Wan;

/// <summary>
/// Wan's attention module (self or cross): projections, RMS-normed q/k across heads, rotary, the seam. A cross-attention
/// of a Wan2.1 I2V model also has image key/value projections (<c>add_k_proj</c>, <c>add_v_proj</c>,
/// <c>norm_added_k</c>): the same queries attend the image tokens in a second seam call (<see cref="ImageSite"/>) and
/// that output is added to the text attention's before <c>to_out</c>, as diffusers' WanAttnProcessor does.
/// </summary>
public sealed class WanAttention : nn.Module
{
    private readonly int _heads;
    private readonly AttentionSeam _seam;
    public AttentionSite Site { get; }
    /// <summary>The attention to image tokens; null without image projections.</summary>
    public AttentionSite? ImageSite { get; }
    public Linear to_q, to_k, to_v;
    public ModuleList<nn.Module> to_out;
    private Linear OutProjection => (Linear)to_out[0];
    public RmsNorm norm_q, norm_k;
    public Linear? add_k_proj, add_v_proj;
    public RmsNorm? norm_added_k;

    /// <param name="addedKvProjDim">diffusers' added_kv_proj_dim: the image projections' input width; null without them.</param>
    public WanAttention(long dim, int heads, double eps, AttentionSite site, AttentionSeam seam, Device device, ScalarType dtype,
        long? addedKvProjDim = null, AttentionSite? imageSite = null) : base("WanAttention")
    {
        _heads = heads;
        _seam = seam;
        Site = site;
        register_module("to_q", to_q = Layers.Linear(dim, dim, device, dtype));
        register_module("to_k", to_k = Layers.Linear(dim, dim, device, dtype));
        register_module("to_v", to_v = Layers.Linear(dim, dim, device, dtype));
        register_module("to_out", to_out = new ModuleList<nn.Module>(Layers.Linear(dim, dim, device, dtype), nn.Dropout(0)));
        register_module("norm_q", norm_q = new RmsNorm(dim, eps, device, dtype));
        register_module("norm_k", norm_k = new RmsNorm(dim, eps, device, dtype));
        if (addedKvProjDim is { } kv)
        {
            ImageSite = imageSite ?? throw new ArgumentNullException(nameof(imageSite), "image projections need the image attention's site");
            register_module("add_k_proj", add_k_proj = Layers.Linear(kv, dim, device, dtype));
            register_module("add_v_proj", add_v_proj = Layers.Linear(kv, dim, device, dtype));
            register_module("norm_added_k", norm_added_k = new RmsNorm(dim, eps, device, dtype));
        }
    }

    /// <param name="context">Keys/values source for cross-attention; null for self-attention.</param>
    /// <param name="image">Image tokens [B, N, dim] for the image projections (Wan2.1 I2V cross-attention); null otherwise.</param>
    public Tensor Forward(Tensor x, Tensor? context, (Tensor Cos, Tensor Sin)? rotary, TokenLayout queryLayout, TokenLayout keyLayout,
        Tensor? image = null, TokenLayout? imageLayout = null)
    {
        using var scope = torch.NewDisposeScope();
        if ((image is null) != (add_k_proj is null))
            throw new VDiTLensException(image is null
                ? $"{Site.Name} has image projections (added_kv_proj_dim) but got no image tokens; pass encoder_hidden_states_image"
                : $"{Site.Name} has no image projections (added_kv_proj_dim null) but got image tokens");
        var source = context ?? x;
        Tensor q, k, v;
        using (var projected = to_q.forward(x)) q = WanElementwise.NormRotary(norm_q, projected, _heads, rotary);
        using (var projected = to_k.forward(source)) k = WanElementwise.NormRotary(norm_k, projected, _heads, rotary);
        v = to_v.forward(source).unflatten(2, new long[] { _heads, source.shape[^1] / _heads });
        var dtype = q.dtype;
        var qh = q.transpose(1, 2);
        Tensor? imageOutput = null;
        if (image is not null)
        {
            Tensor kImage, vImage;
            using (var projected = add_k_proj!.forward(image)) kImage = WanElementwise.NormRotary(norm_added_k!, projected, _heads, null);
            vImage = add_v_proj!.forward(image).unflatten(2, new long[] { _heads, image.shape[^1] / _heads });
            imageOutput = _seam.Attend(ImageSite!, qh, kImage.transpose(1, 2), vImage.transpose(1, 2), queryLayout,
                imageLayout ?? TokenLayout.Text(image.shape[1]));
            kImage.Dispose();
            vImage.Dispose();
        }
        var output = _seam.Attend(Site, qh, k.transpose(1, 2), v.transpose(1, 2), queryLayout, keyLayout);
        q.Dispose();
        k.Dispose();
        v.Dispose();
        Tensor merged;
        using (output) merged = output.transpose(1, 2).flatten(2, 3).to(dtype);
        if (imageOutput is not null)
        {
            using var imageMerged = imageOutput.transpose(1, 2).flatten(2, 3).to(dtype);
            imageOutput.Dispose();
            var sum = merged + imageMerged;
            merged.Dispose();
            merged = sum;
        }
        using (merged) return OutProjection.forward(merged).MoveToOuterDisposeScope();
    }
}
