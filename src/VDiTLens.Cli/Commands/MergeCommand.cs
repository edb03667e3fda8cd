using System.CommandLine;
using Spectre.Console;
using VDiTLens.Reports;
using VDiTLens.Studies.Sinks;
using VDiTLens.Studies.Sparsity;
using VDiTLens.Studies.Structure;
using VDiTLens.Studies.TextAblation;

namespace VDiTLens.Cli.Commands;

/// <summary><c>vditlens merge</c>: the report of a sharded study from whatever cells its shards have written; names the missing ones.</summary>
internal static class MergeCommand
{
    public static Command Create()
    {
        var outDir = new Option<string>("--out") { Description = "report folder the shards wrote to (their --out)", DefaultValueFactory = _ => "out/report" };
        var strict = new Option<bool>("--require-complete") { Description = "exit with status 3 when cells are missing" };
        var command = new Command("merge", "Build a sharded study's tables and report from the cells on disk (sparsity sweep and held-out study, structure, text-ablation, sinks, edit-study), and list missing cells");
        command.Options.Add(outDir);
        command.Options.Add(strict);
        command.SetAction(result => Run(result.GetValue(outDir)!, result.GetValue(strict)));
        return command;
    }

    /// <summary>Merges every sharded study found in <paramref name="outPath"/>; the largest exit status of them.</summary>
    public static int Run(string outPath, bool requireComplete)
    {
        var studies = new List<Func<int>>();
        if (File.Exists(Path.Combine(outPath, SparsityReport.Folder, "run", SparsitySweep.SettingsFile))) studies.Add(() => Sparsity(outPath, requireComplete));
        if (File.Exists(Path.Combine(ProtectionCells.RunFolder(outPath), ProtectionCells.StudyFile))) studies.Add(() => SparsityHeldOutPass.Report(outPath, requireComplete));
        if (File.Exists(Path.Combine(StructureStudy.RunFolder(outPath), StructureStudy.SettingsFile))) studies.Add(() => StructureCommand.Report(outPath, requireComplete));
        if (File.Exists(Path.Combine(TextAblationRun.RunFolder(outPath), TextAblationRun.SettingsFile))) studies.Add(() => TextAblationCommand.Report(outPath, requireComplete));
        if (File.Exists(Path.Combine(SinkRun.RunFolder(outPath), SinkRun.SettingsFile))) studies.Add(() => SinksCommand.Report(outPath, requireComplete));
        if (File.Exists(Path.Combine(EditStudy.RunFolder(outPath), EditStudy.SettingsFile))) studies.Add(() => EditStudyCommand.Report(outPath, requireComplete));
        if (studies.Count == 0)
            throw new VDiTLensException($"--out {outPath}: no sharded study in it (run a study verb with --shard i/n --out {outPath} first)");
        return studies.Max(merge => merge());
    }

    private static int Sparsity(string outPath, bool requireComplete)
    {
        string folder = Path.Combine(outPath, SparsityReport.Folder, "run");
        var outcome = SparsitySweep.Collect(folder, out var missing);
        var files = SparsityReport.Write(new HtmlReport(outPath), outcome);
        AnsiConsole.WriteLine($"merged {outcome.Results.Count}/{outcome.Total} cells into {Path.Combine(outPath, SparsityReport.Folder)} ({files.Count} files) and {Path.Combine(outPath, "index.html")}");
        if (missing.Count == 0) return 0;
        AnsiConsole.WriteLine($"missing {missing.Count} cells (run their shards again; they resume):");
        foreach (var c in missing.Take(50)) AnsiConsole.WriteLine("  " + c.Description);
        if (missing.Count > 50) AnsiConsole.WriteLine($"  … and {missing.Count - 50} more");
        return requireComplete ? 3 : 0;
    }
}
