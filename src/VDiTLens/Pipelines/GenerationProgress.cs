namespace VDiTLens.Pipelines;

/// <summary>Denoising progress: <see cref="Completed"/> of <see cref="Total"/> steps done, and the estimated time left.</summary>
public sealed record GenerationProgress(int Completed, int Total, TimeSpan Elapsed, TimeSpan EstimatedRemaining)
{
    public static GenerationProgress After(int completed, int total, TimeSpan elapsed) =>
        new(completed, total, elapsed, completed == 0 ? TimeSpan.Zero : elapsed / completed * (total - completed));
}
