namespace VDiTLens.Training;

/// <summary>
/// Which metrics of an <c>emergence.csv</c> the <see cref="EmergencePlot"/> draws: the sink share per layer (with
/// <c>_low</c>/<c>_high</c> interval rows when recorded) divided by its uniform value, optionally Sink^ε, and the task
/// accuracy metrics.
/// </summary>
/// <param name="Subject">What receives the mass, in titles ("first-frame mass", "first-token α₀").</param>
/// <param name="Uniform">What the share is divided by, in titles ("uniform", "uniform causal").</param>
/// <param name="SinkEpsilon">Also draw Sink^ε: per layer <c>epsilon_share</c> and the model's <c>sink_epsilon</c> (layer −1), with intervals.</param>
public sealed record EmergenceCurve(string Subject, string Uniform, string ShareMetric, string UniformMetric, bool SinkEpsilon,
    IReadOnlyList<string> AccuracyMetrics, string AccuracyTitle, string AccuracyYTitle)
{
    /// <summary>The video trainer's curve (<see cref="EmergenceRecorder"/>).</summary>
    public static readonly EmergenceCurve FirstFrame = new("first-frame mass", "uniform", "first_frame_share", "first_frame_uniform", false,
        new[] { "objects_correct", "objects_found" }, "Evaluator on sampled clips", "share of caption objects");

    /// <summary>The tiny LM's curve (<see cref="LanguageModel.TinyLmEmergence"/>).</summary>
    public static readonly EmergenceCurve FirstToken = new("first-token α₀", "uniform causal", "first_token_share", "first_token_uniform", true,
        new[] { "answer_accuracy" }, "Held-out task accuracy", "share of answers right");

    /// <summary>The curve whose share metric the rows hold, or null.</summary>
    public static EmergenceCurve? Of(IReadOnlyList<EmergencePoint> points) =>
        new[] { FirstFrame, FirstToken }.FirstOrDefault(c => points.Any(p => p.Metric == c.ShareMetric));
}
