using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using VDiTLens.Cli;
using VDiTLens.Studies.Sparsity;
using Xunit.Abstractions;

namespace VDiTLens.Tests.Cli;

/// <summary>
/// The sharded sparsity sweep end to end on the embedded model (tiny settings, CPU): shards as separate processes
/// (one per "GPU", and as a Slurm job array on the local cluster CI starts) merge to the unsharded table byte for byte,
/// and <c>--dry-run</c> estimates the run's time within 2×.
/// </summary>
[Collection(VDiTLens.Tests.TestSupport.ConsoleCollection.Name)]
public sealed class ScaleOutCommandTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vditlens-scale-").FullName;

    /// <summary>4 single-layer cells (the embedded model has 4 layers) at one level, 1 prompt, 2 steps.</summary>
    private static readonly string[] Sweep =
        { "--steps", "2", "--prompt-count", "1", "--levels", "0.5", "--modes", "single", "--device", "cpu", "--dtype", "float32" };

    private (int Code, string Out) Cli(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CliApp.Run(args, stdout, stderr);
        output.WriteLine(stdout.ToString());
        output.WriteLine(stderr.ToString());
        return (code, stdout.ToString());
    }

    private string Unsharded()
    {
        string folder = Path.Combine(_dir, "whole");
        Assert.Equal(0, Cli(new[] { "sparsity" }.Concat(Sweep).Concat(new[] { "--out", folder }).ToArray()).Code);
        return File.ReadAllText(Path.Combine(folder, SparsityReport.Folder, "sweep.csv"));
    }

    private string Merged(string folder) => File.ReadAllText(Path.Combine(folder, SparsityReport.Folder, "sweep.csv"));

    [Fact]
    public void One_process_per_gpu_then_merge_gives_the_unsharded_table()
    {
        string folder = Path.Combine(_dir, "local");
        Assert.Equal(0, Cli(new[] { "submit", "local", "--gpus", "0,1", "--", "sparsity" }.Concat(Sweep).Concat(new[] { "--out", folder }).ToArray()).Code);
        Assert.Equal(2, Directory.GetFiles(Path.Combine(folder, "logs"), "shard-*-pass1.log").Length);
        Assert.Equal(Unsharded(), Merged(folder));
    }

    [Fact]
    public void Merge_lists_missing_cells_and_fails_only_when_asked()
    {
        string folder = Path.Combine(_dir, "partial");
        Assert.Equal(0, Cli(new[] { "sparsity" }.Concat(Sweep).Concat(new[] { "--out", folder, "--shard", "0/2" }).ToArray()).Code);
        var (code, text) = Cli("merge", "--out", folder);
        Assert.Equal(0, code);
        Assert.Contains("merged 2/4 cells", text);
        Assert.Contains("missing 2 cells", text);
        Assert.Equal(3, Cli("merge", "--out", folder, "--require-complete").Code);
    }

    [Fact]
    public void Dry_run_estimate_is_within_two_times_of_the_measured_run()
    {
        string folder = Path.Combine(_dir, "timed");
        // The dry run times the dense reference and one whole cell with the sweep's own code, the model load and the
        // report, so every stage the run pays for is measured, under whatever load the machine has.
        var sweep = Sweep.ToArray();
        sweep[Array.IndexOf(sweep, "--steps") + 1] = "4";
        var args = new[] { "sparsity" }.Concat(sweep).Concat(new[] { "--out", folder }).ToArray();
        var (code, text) = Cli(args.Append("--dry-run").ToArray());
        Assert.Equal(0, code);
        var m = Regex.Match(text, @"estimate: cells=(\d+) generations=(\d+) forwards=(\d+) seconds=([\d.]+)");
        Assert.True(m.Success, text);
        Assert.Equal(("4", "5", "20"), (m.Groups[1].Value, m.Groups[2].Value, m.Groups[3].Value)); // 5 generations × 4 steps × 1 batched guidance call
        Assert.False(Directory.Exists(Path.Combine(folder, SparsityReport.Folder)), "a dry run writes nothing");
        double estimate = double.Parse(m.Groups[4].Value, CultureInfo.InvariantCulture);
        var clock = Stopwatch.StartNew();
        Assert.Equal(0, Cli(args).Code);
        double measured = clock.Elapsed.TotalSeconds;
        output.WriteLine($"estimated {estimate:F2} s, measured {measured:F2} s");
        Assert.InRange(estimate / measured, 0.5, 2.0);
    }

    [Fact]
    public void Slurm_job_array_on_the_local_cluster_merges_to_the_unsharded_table()
    {
        if (!SlurmAvailable())
        {
            Assert.False(Environment.GetEnvironmentVariable("CI") == "true",
                "CI=true but no Slurm cluster answers (.ci/run starts one with scripts/slurm/local-cluster start)");
            output.WriteLine("no Slurm cluster here (start one with scripts/slurm/local-cluster start)");
            return;
        }
        string folder = Path.Combine(_dir, "slurm");
        string name = "vditlens-test-" + Guid.NewGuid().ToString("N")[..8];
        var (code, text) = Cli(new[] { "submit", "slurm", "--shards", "4", "--no-gres", "--submit", "--name", name, "--", "sparsity" }
            .Concat(Sweep).Concat(new[] { "--out", folder }).ToArray());
        Assert.Equal(0, code);
        Assert.Contains("merge job", text);
        var clock = Stopwatch.StartNew();
        while (Tool("squeue", "-h", "-n", $"{name},{name}-merge", "-o", "%i").Trim().Length > 0)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromMinutes(5), "the Slurm jobs did not finish within 5 minutes:\n" + Tool("squeue"));
            Thread.Sleep(1000);
        }
        foreach (var log in Directory.GetFiles(Path.Combine(folder, "slurm"), "*.out")) output.WriteLine($"{log}:\n{File.ReadAllText(log)}");
        Assert.Equal(4, Directory.GetFiles(Path.Combine(folder, "slurm"), $"{name}-*_*.out").Length);
        Assert.True(File.Exists(Path.Combine(folder, SparsityReport.Folder, "sweep.csv")), "the merge job wrote no table");
        Assert.Equal(Unsharded(), Merged(folder));
    }

    private static bool SlurmAvailable()
    {
        try { return Tool("sinfo", "-h", "-o", "%T").Split('\n').Any(s => s.Trim() is "idle" or "mixed" or "allocated"); }
        catch (System.ComponentModel.Win32Exception) { return false; }
    }

    private static string Tool(string name, params string[] args)
    {
        var info = new ProcessStartInfo(name) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var p = Process.Start(info)!;
        string text = p.StandardOutput.ReadToEnd();
        p.StandardError.ReadToEnd();
        p.WaitForExit();
        return text;
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); }
        catch (IOException) { }
    }
}
