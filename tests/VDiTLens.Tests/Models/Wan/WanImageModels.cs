using TorchSharp;
using VDiTLens.Models.Wan;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Models.Wan;

/// <summary>
/// Wan2.1 I2V transformers made from a text-to-video one: the same weights, image_dim / added_kv_proj_dim added with
/// seeded random image weights, optionally extra input channels with zero weights. With <c>zeroImageValues</c> the image
/// value projections (add_v_proj) are zero, so the image attention adds nothing and the model computes what the
/// text-to-video model computes.
/// </summary>
public static class WanImageModels
{
    public static WanConfig ImageConfig(WanConfig textToVideo, int imageDim, int extraInChannels = 0, int? posEmbedSeqLen = null) => textToVideo with
    {
        image_dim = imageDim,
        added_kv_proj_dim = textToVideo.InnerDim,
        pos_embed_seq_len = posEmbedSeqLen,
        in_channels = textToVideo.in_channels + extraInChannels,
    };

    public static WanTransformer3DModel FromTextToVideo(WanTransformer3DModel source, WanConfig config, bool zeroImageValues, long seed, ScalarType dtype)
    {
        torch.manual_seed(seed);
        var model = new WanTransformer3DModel(config, torch.CPU, dtype);
        var weights = source.state_dict();
        using var _ = torch.no_grad();
        foreach (var (name, p) in model.named_parameters())
        {
            if (weights.TryGetValue(name, out var w))
            {
                if (w.shape.SequenceEqual(p.shape)) p.copy_(w);
                else
                {
                    // the patch embedding widened on its input channels: the new channels' weights are zero
                    p.zero_();
                    p.narrow(1, 0, w.shape[1]).copy_(w);
                }
            }
            else if (name.Contains("image_embedder"))
                p.copy_(torch.randn(p.shape, dtype: p.dtype) * (name.Contains("norm") ? 0.1 : 0.2) + (name.EndsWith("norm1.weight") || name.EndsWith("norm2.weight") ? 1 : 0));
            if (zeroImageValues && name.Contains("add_v_proj")) p.zero_();
        }
        return model;
    }
}
