using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Pipelines;

/// <summary>
/// One guidance branch's text input to a transformer: embeddings [B, L, D] in the transformer dtype on the device and,
/// for models that take them, the token mask [B, L] (true = real token; Mochi, HunyuanVideo) and a pooled embedding
/// [B, P] (HunyuanVideo's CLIP <c>pooled_projections</c>). Owns its tensors.
/// </summary>
public sealed class TextConditioning(Tensor embeds, Tensor? mask, Tensor? pooled = null) : IDisposable
{
    public Tensor Embeds { get; } = embeds;
    public Tensor? Mask { get; } = mask;
    public Tensor? Pooled { get; } = pooled;
    public long Rows => Embeds.shape[0];
    public long Tokens => Embeds.shape[1];

    /// <summary>Rows of <paramref name="first"/> then rows of <paramref name="second"/> (batched guidance), as new tensors.</summary>
    public static TextConditioning Concat(TextConditioning first, TextConditioning second) => new(
        torch.cat(new[] { first.Embeds, second.Embeds }, 0),
        first.Mask is null || second.Mask is null ? null : torch.cat(new[] { first.Mask, second.Mask }, 0),
        first.Pooled is null || second.Pooled is null ? null : torch.cat(new[] { first.Pooled, second.Pooled }, 0));

    /// <summary>
    /// A caller's embeddings (and mask), checked, as new tensors in <paramref name="dtype"/> on <paramref name="device"/>;
    /// <paramref name="what"/> names the request field in messages.
    /// </summary>
    public static TextConditioning FromGiven(Tensor embeds, Tensor? mask, int batch, long textDim, string what, ScalarType dtype, Device device)
    {
        if (embeds.dim() != 3 || embeds.shape[0] != batch || embeds.shape[2] != textDim)
            throw new VDiTLensException($"{what} is [{string.Join(", ", embeds.shape)}]; it must be [{batch}, L, {textDim}] (batch, tokens, the transformer's text width)");
        if (mask is not null && (mask.dim() != 2 || mask.shape[0] != batch || mask.shape[1] != embeds.shape[1]))
            throw new VDiTLensException($"the attention mask given with {what} is [{string.Join(", ", mask.shape)}]; it must be [{batch}, {embeds.shape[1]}] (one entry per token)");
        using var scope = torch.NewDisposeScope();
        var moved = embeds.alias().to(dtype).to(device);
        if (!moved.isfinite().all().item<bool>())
            throw new VDiTLensException($"{what} contains NaN or Inf values");
        var movedMask = mask?.to(device).ne(0);
        return new TextConditioning(moved.MoveToOuterDisposeScope(), movedMask?.MoveToOuterDisposeScope());
    }

    public void Dispose()
    {
        Embeds.Dispose();
        Mask?.Dispose();
        Pooled?.Dispose();
    }
}
