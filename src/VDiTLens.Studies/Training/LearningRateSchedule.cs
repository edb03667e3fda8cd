namespace VDiTLens.Training;

/// <summary>Linear warm-up to <paramref name="Peak"/>, then cosine decay to <paramref name="FinalFraction"/>·peak at <paramref name="TotalSteps"/>.</summary>
public sealed record LearningRateSchedule(double Peak, int WarmupSteps, int TotalSteps, double FinalFraction = 0.1)
{
    public double At(int step)
    {
        if (step < WarmupSteps) return Peak * (step + 1) / WarmupSteps;
        double progress = Math.Clamp((double)(step - WarmupSteps) / Math.Max(1, TotalSteps - WarmupSteps), 0, 1);
        double cosine = 0.5 * (1 + Math.Cos(Math.PI * progress));
        return Peak * (FinalFraction + (1 - FinalFraction) * cosine);
    }
}
