using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Attention;
using VDiTLens.Models.Common;
using static TorchSharp.torch;

namespace VDiTLens.Models.Mochi;

/// <summary>
/// diffusers' MochiAttentionPool: one query (the masked mean of the text tokens) attends over [mean, text] with
/// padded text keys masked; goes through the seam as site <c>time_embed.pooler</c> (reference key <c>attn.pool.text</c>).
/// </summary>
public sealed class MochiAttentionPool : nn.Module
{
    private readonly int _heads;
    private readonly AttentionSeam _seam;
    public AttentionSite Site { get; }
    public Linear to_kv, to_q, to_out;

    public MochiAttentionPool(int heads, long embedDim, long outputDim, AttentionSeam seam, Device device, ScalarType dtype) : base("MochiAttentionPool")
    {
        _heads = heads;
        _seam = seam;
        Site = new AttentionSite("time_embed.pooler", -1, AttentionKind.Cross, "attn.pool.text", "pool");
        register_module("to_kv", to_kv = Layers.Linear(embedDim, 2 * embedDim, device, dtype));
        register_module("to_q", to_q = Layers.Linear(embedDim, embedDim, device, dtype));
        register_module("to_out", to_out = Layers.Linear(embedDim, outputDim, device, dtype));
    }

    /// <param name="x">text [B, L, D]</param>
    /// <param name="mask">bool [B, L], true for real tokens</param>
    /// <returns>[B, output_dim]</returns>
    public Tensor Forward(Tensor x, Tensor mask)
    {
        using var scope = torch.NewDisposeScope();
        long b = x.shape[0], length = x.shape[1], d = x.shape[2], headDim = d / _heads;
        var keyValid = torch.cat(new[] { torch.ones(b, 1, dtype: ScalarType.Bool, device: mask.device), mask }, 1);

        var weights = mask.unsqueeze(2).to(x.dtype);
        weights = weights / weights.sum(1, keepdim: true).clamp_min(1);
        var pooled = (x * weights).sum(1, keepdim: true);
        var sequence = torch.cat(new[] { pooled, x }, 1);

        var kv = to_kv.forward(sequence).view(b, length + 1, 2, _heads, headDim).transpose(1, 3);
        var k = kv.select(2, 0);
        var v = kv.select(2, 1);
        var q = to_q.forward(sequence.select(1, 0)).view(b, _heads, 1, headDim);

        var queryLayout = TokenLayout.Text(1);
        var keyLayout = TokenLayout.Text(length + 1, keyValid);
        var output = _seam.Attend(Site, q, k, v, queryLayout, keyLayout, keyValid.view(b, 1, 1, length + 1));
        return to_out.forward(output.squeeze(2).flatten(1, 2)).MoveToOuterDisposeScope();
    }
}
