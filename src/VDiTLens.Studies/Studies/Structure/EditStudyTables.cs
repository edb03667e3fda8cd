using System.Globalization;
using System.Text;
using VDiTLens.Reports;
using VDiTLens.Statistics;

namespace VDiTLens.Studies.Structure;

/// <summary>
/// The edit study's per-sample CSV files: <c>samples.csv</c> (one row per saved cell, band, pair and seed: split, primary score of
/// the edited video and of the no-transfer control, trajectory distances, PSNR and MS-SSIM, cameras read),
/// <c>scene_objects.csv</c> (scene evaluator: one row per object of each sample) and <c>heldout.csv</c> (the chosen
/// band on the held-out seeds: mean and 95 % interval of each arm and of the paired difference).
/// </summary>
public static class EditStudyTables
{
    public static string Samples(IReadOnlyList<EditStudyCell> cells, EditStudyOptions o)
    {
        var csv = new StringBuilder("band,first_layer,last_layer,pair,changes,seed,split,score,baseline_score,trajectory_distance,baseline_trajectory_distance," +
                                    "psnr_to_source,ms_ssim_to_source,psnr_to_target,ms_ssim_to_target,baseline_psnr_to_source,baseline_ms_ssim_to_source," +
                                    "target_camera,edited_camera,baseline_camera\n");
        foreach (var c in cells)
        {
            var s = EditSample.Of(c, o);
            var f = c.Fidelity;
            csv.AppendLine(string.Join(",", new[] { c.Band, Int(c.FirstLayer), Int(c.LastLayer), Int(c.Pair), s.Changes, c.Seed.ToString(CultureInfo.InvariantCulture), Split(c.Seed, o) }
                .Concat(new[] { s.Score, s.BaselineScore, s.Distance, s.BaselineDistance, f.EditedToSourcePsnr, f.EditedToSourceMsSsim, f.EditedToTargetPsnr,
                    f.EditedToTargetMsSsim, f.TargetToSourcePsnr, f.TargetToSourceMsSsim }.Select(CsvNumber.Of))
                .Concat(new[] { c.Scene?.TargetCamera ?? "", c.Scene?.EditedCamera ?? "", c.Scene?.PlainTargetCamera ?? "" })));
        }
        return csv.ToString();
    }

    public static string SceneObjects(IReadOnlyList<EditStudyCell> cells, EditStudyOptions o)
    {
        var csv = new StringBuilder("band,pair,seed,split,object,source_colour,target_colour,changed,edited_distance,baseline_distance,edited_as_target,baseline_as_target\n");
        foreach (var c in cells)
            foreach (var obj in c.Scene?.Objects ?? Array.Empty<SceneObjectEdit>())
                csv.AppendLine(string.Join(",", c.Band, Int(c.Pair), c.Seed.ToString(CultureInfo.InvariantCulture), Split(c.Seed, o), Int(obj.Index),
                    obj.SourceColour, obj.TargetColour, Bool(obj.Changed), CsvNumber.Of(obj.EditedDistance), CsvNumber.Of(obj.TargetDistance),
                    Bool(obj.EditedAsTarget), Bool(obj.TargetAsTarget)));
        return csv.ToString();
    }

    public static string HeldOut(EditSelection selection)
    {
        var csv = new StringBuilder("band,measure,arm,value,low,high,n,level\n");
        if (selection.Test is not { } t) return csv.ToString();
        void Row(string measure, string arm, Estimate e) => csv.AppendLine(string.Join(",", t.Band, measure, arm,
            CsvNumber.Of(e.Value), CsvNumber.Of(e.Low), CsvNumber.Of(e.High), Int(e.N), CsvNumber.Of(e.Level)));
        Row("score", "edited", t.Score);
        Row("score", "no transfer", t.BaselineScore);
        Row("score", "edited - no transfer", t.ScoreDifference);
        Row("trajectory_distance", "edited", t.Distance);
        Row("trajectory_distance", "no transfer", t.BaselineDistance);
        Row("trajectory_distance", "edited - no transfer", t.DistanceDifference);
        return csv.ToString();
    }

    private static string Split(long seed, EditStudyOptions o) => o.DevSeeds.Contains(seed) ? "dev" : "test";
    private static string Int(int v) => v.ToString(CultureInfo.InvariantCulture);
    private static string Bool(bool v) => v ? "1" : "0";
}
