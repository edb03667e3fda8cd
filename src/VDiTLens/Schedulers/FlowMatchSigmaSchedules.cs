namespace VDiTLens.Schedulers;

/// <summary>The sigma schedules the Mochi and HunyuanVideo pipelines pass to <c>set_timesteps(sigmas=...)</c>.</summary>
public static class FlowMatchSigmaSchedules
{
    /// <summary>diffusers' <c>pipeline_mochi.linear_quadratic_schedule</c> (float64, as in Python).</summary>
    public static double[] LinearQuadratic(int numSteps, double thresholdNoise, int? linearSteps = null)
    {
        int linear = linearSteps ?? numSteps / 2;
        if (linear < 1 || linear >= numSteps)
            throw new ArgumentException($"linear_quadratic_schedule needs 1 <= linear_steps < num_steps (got {linear} of {numSteps})");
        var schedule = new List<double>(numSteps);
        for (int i = 0; i < linear; i++) schedule.Add(i * thresholdNoise / linear);
        double thresholdNoiseStepDiff = linear - thresholdNoise * numSteps;
        int quadratic = numSteps - linear;
        double quadraticCoef = thresholdNoiseStepDiff / (linear * (long)quadratic * quadratic);
        double linearCoef = thresholdNoise / linear - 2 * thresholdNoiseStepDiff / ((long)quadratic * quadratic);
        double constant = quadraticCoef * ((long)linear * linear);
        for (int i = linear; i < numSteps; i++)
            schedule.Add(quadraticCoef * ((long)i * i) + linearCoef * i + constant);
        return schedule.Select(x => 1.0 - x).ToArray();
    }

    /// <summary>HunyuanVideoPipeline's <c>np.linspace(1.0, 0.0, N + 1)[:-1]</c>.</summary>
    public static double[] HunyuanVideo(int numSteps) => NumpyCompat.Linspace(1.0, 0.0, numSteps + 1)[..^1];
}
