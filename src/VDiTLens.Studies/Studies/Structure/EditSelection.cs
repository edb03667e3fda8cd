using VDiTLens.Statistics;

namespace VDiTLens.Studies.Structure;

/// <summary>
/// One (band, pair, seed) sample of an edit study reduced to the study's measures: the primary <see cref="Score"/> of
/// the edited video and of the target generated without transfer (the control arm, same noise as the edited row), and
/// the mean trajectory distance to the source's objects (NaN without an evaluator or where no object was found).
/// </summary>
public sealed record EditSample(string Band, int FirstLayer, int LastLayer, int Pair, string Changes, long Seed,
    double Score, double BaselineScore, double Distance, double BaselineDistance)
{
    /// <summary>
    /// The primary measure by evaluator: with the scene or clip evaluator, edit success (1 or 0: every track within the
    /// tolerance of the source's and the target's attributes, <see cref="SceneEditMetrics"/>, <see cref="EditMetrics"/>);
    /// without one, MS-SSIM to the source (preservation only: adherence cannot be read).
    /// </summary>
    public static string Measure(EditEvaluator evaluator) => evaluator switch
    {
        EditEvaluator.Scenes => "edit success (scene evaluator: every object's track within tolerance of the source's, changed attributes the target's, others unchanged, camera the target's)",
        EditEvaluator.Clips => "edit success (clip evaluator: track within tolerance of the source's and the changed attributes the target's)",
        _ => "MS-SSIM to source (no evaluator: preservation only)",
    };

    public static EditSample Of(EditStudyCell c, EditStudyOptions o)
    {
        string changes = o.Pairs[c.Pair].Changes;
        double tolerance = o.TolerancePixels;
        EditSample Make(double score, double baseline, double distance, double baselineDistance) =>
            new(c.Band, c.FirstLayer, c.LastLayer, c.Pair, changes, c.Seed, score, baseline, distance, baselineDistance);
        static double One(bool b) => b ? 1 : 0;
        static bool Adhered(double adherence) => double.IsNaN(adherence) || adherence >= 1;
        return o.Evaluator switch
        {
            EditEvaluator.Scenes when c.Scene is { } s => Make(One(s.EditedSuccess), One(s.TargetSuccess), s.EditedTrajectoryDistance, s.TargetTrajectoryDistance),
            EditEvaluator.Clips when c.Metrics is { } m => Make(
                One(m.EditedTrajectoryDistance <= tolerance && Adhered(m.EditedAdherence)), One(m.TargetTrajectoryDistance <= tolerance && Adhered(m.TargetAdherence)),
                m.EditedTrajectoryDistance, m.TargetTrajectoryDistance),
            EditEvaluator.None => Make(c.Fidelity.EditedToSourceMsSsim, c.Fidelity.TargetToSourceMsSsim, double.NaN, double.NaN),
            _ => Make(double.NaN, double.NaN, double.NaN, double.NaN),
        };
    }
}

/// <summary>A band's mean primary score and trajectory distance over the development samples.</summary>
public sealed record EditBandScore(string Band, int FirstLayer, int LastLayer, int Samples, double Score, double BaselineScore, double Distance);

/// <summary>
/// The chosen band on the held-out seeds: means with percentile-bootstrap intervals over the (pair, seed) samples of the
/// edited videos and of the control arm (the target without transfer), and their paired differences (edited − control).
/// </summary>
public sealed record EditTestResult(string Band, int Samples, Estimate Score, Estimate BaselineScore, Estimate ScoreDifference,
    Estimate Distance, Estimate BaselineDistance, Estimate DistanceDifference, IReadOnlyList<EditKindResult> ByKind);

/// <summary>Held-out means of one kind of pair (what <see cref="EditPair.Changes"/> names).</summary>
public sealed record EditKindResult(string Changes, int Samples, double Score, double BaselineScore);

/// <summary>
/// The edit study's band choice and held-out report: the band with the highest mean primary score over the development
/// seeds' samples (ties: lower mean trajectory distance, then the earlier band) is chosen from those samples alone, and
/// reported on the held-out seeds' samples alone.
/// </summary>
public sealed record EditSelection(string Measure, IReadOnlyList<EditBandScore> Development, string? Chosen, EditTestResult? Test)
{
    public static EditSelection Of(IReadOnlyList<EditStudyCell> cells, EditStudyOptions o)
    {
        var samples = cells.Select(c => EditSample.Of(c, o)).ToList();
        var development = DevelopmentScores(samples, o.DevSeeds);
        string? chosen = Choose(development);
        var test = chosen is null ? null : HeldOut(samples.Where(s => s.Band == chosen && o.TestSeeds.Contains(s.Seed)).ToList(), chosen, o.Bootstrap);
        return new EditSelection(EditSample.Measure(o.Evaluator), development, chosen, test);
    }

    /// <summary>Per-band means over the samples of <paramref name="devSeeds"/> only (other samples are dropped before anything is read), in band order.</summary>
    public static IReadOnlyList<EditBandScore> DevelopmentScores(IEnumerable<EditSample> samples, IReadOnlyList<long> devSeeds) => samples
        .Where(s => devSeeds.Contains(s.Seed))
        .GroupBy(s => s.Band)
        .Select(g => new EditBandScore(g.Key, g.First().FirstLayer, g.First().LastLayer, g.Count(),
            Mean(g.Select(s => s.Score)), Mean(g.Select(s => s.BaselineScore)), Mean(g.Select(s => s.Distance))))
        .ToList();

    /// <summary>The band with the highest finite score; ties: lower distance (NaN last), then the earlier band. Null when no band has a score.</summary>
    public static string? Choose(IReadOnlyList<EditBandScore> development) => development
        .Select((b, i) => (b, i)).Where(x => double.IsFinite(x.b.Score))
        .OrderByDescending(x => x.b.Score).ThenBy(x => double.IsFinite(x.b.Distance) ? x.b.Distance : double.PositiveInfinity).ThenBy(x => x.i)
        .Select(x => x.b.Band).FirstOrDefault();

    private static EditTestResult HeldOut(IReadOnlyList<EditSample> test, string band, Bootstrap bootstrap)
    {
        var scored = test.Where(s => double.IsFinite(s.Score) && double.IsFinite(s.BaselineScore)).ToList();
        var tracked = test.Where(s => double.IsFinite(s.Distance) && double.IsFinite(s.BaselineDistance)).ToList();
        return new EditTestResult(band, test.Count,
            bootstrap.Mean(scored.Select(s => s.Score).ToArray()), bootstrap.Mean(scored.Select(s => s.BaselineScore).ToArray()),
            bootstrap.PairedDifference(scored.Select(s => s.Score).ToArray(), scored.Select(s => s.BaselineScore).ToArray()),
            bootstrap.Mean(tracked.Select(s => s.Distance).ToArray()), bootstrap.Mean(tracked.Select(s => s.BaselineDistance).ToArray()),
            bootstrap.PairedDifference(tracked.Select(s => s.Distance).ToArray(), tracked.Select(s => s.BaselineDistance).ToArray()),
            scored.GroupBy(s => s.Changes).Select(g => new EditKindResult(g.Key, g.Count(), g.Average(s => s.Score), g.Average(s => s.BaselineScore))).ToList());
    }

    private static double Mean(IEnumerable<double> values)
    {
        var finite = values.Where(double.IsFinite).ToList();
        return finite.Count == 0 ? double.NaN : finite.Average();
    }
}
