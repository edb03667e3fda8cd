using static TorchSharp.torch;

namespace VDiTLens.Training;

/// <summary>
/// One step's inputs on the CPU: clean clips [B, 3, F, H, W] in [-1, 1], sigma [B], caption ids and mask
/// [B, CaptionLength] (dropped captions are empty), the text length the states are padded to, and the seed of the
/// step's noise (drawn on the training device).
/// </summary>
public sealed record TrainingBatch(int Step, Tensor Clips, Tensor Sigma, Tensor Ids, Tensor Mask, int TextLength, long NoiseSeed) : IDisposable
{
    public void Dispose()
    {
        Clips.Dispose();
        Sigma.Dispose();
        Ids.Dispose();
        Mask.Dispose();
    }
}
