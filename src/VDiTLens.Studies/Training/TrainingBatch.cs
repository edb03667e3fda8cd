using static TorchSharp.torch;

namespace VDiTLens.Training;

/// <summary>
/// One step's inputs on the CPU: clean clips [B, 3, F, H, W] in [-1, 1], sigma [B], caption ids and mask
/// [B, CaptionLength] (dropped captions are empty), the text length the states are padded to, and the seed of the
/// step's noise (drawn on the training device). With a direction contrast, the first <see cref="DirectionContrastBatch.Count"/>
/// clips also come with their captions re-worded for every direction.
/// </summary>
public sealed record TrainingBatch(int Step, Tensor Clips, Tensor Sigma, Tensor Ids, Tensor Mask, int TextLength, long NoiseSeed,
    DirectionContrastBatch? DirectionContrast = null) : IDisposable
{
    public void Dispose()
    {
        DirectionContrast?.Dispose();
        Clips.Dispose();
        Sigma.Dispose();
        Ids.Dispose();
        Mask.Dispose();
    }
}

/// <summary>
/// Captions of the first <see cref="Count"/> clips of a batch re-worded for each <see cref="Procedural.MotionDirection"/>
/// (row 4·i + d is clip i's caption with direction d): ids and mask [4·Count, CaptionLength]; Labels [Count] is the index
/// of each clip's true direction.
/// </summary>
public sealed record DirectionContrastBatch(int Count, Tensor Ids, Tensor Mask, Tensor Labels) : IDisposable
{
    public const int Directions = 4;

    public void Dispose()
    {
        Ids.Dispose();
        Mask.Dispose();
        Labels.Dispose();
    }
}
