using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Models.Wan;

/// <summary>
/// What every Wan block receives besides the residual stream, as <see cref="WanTransformerBlock.Forward"/> takes it:
/// the projected text context, the timestep projection [B, 6, dim], the rotary tables and the token layouts.
/// </summary>
public sealed record WanBlockConditioning(Tensor Context, Tensor TimestepProj, (Tensor Cos, Tensor Sin) Rotary, TokenLayout Video, TokenLayout Text) : IDisposable
{
    public void Dispose()
    {
        Context.Dispose();
        TimestepProj.Dispose();
        Rotary.Cos.Dispose();
        Rotary.Sin.Dispose();
    }
}
