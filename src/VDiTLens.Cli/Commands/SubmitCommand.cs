using System.CommandLine;
using System.Diagnostics;
using Spectre.Console;
using VDiTLens.Cli.Options;
using VDiTLens.Studies.Scale;

namespace VDiTLens.Cli.Commands;

/// <summary>
/// <c>vditlens submit slurm|k8s|local ... -- VERB ARGS</c>: a sharded study handed to a scheduler (a Slurm job array and a
/// dependent merge job; a Kubernetes Indexed Job and a merge Job) or run as one local process per GPU, then merged.
/// </summary>
internal static class SubmitCommand
{
    /// <summary>Verbs whose cells can be sharded.</summary>
    public static readonly string[] ShardedVerbs = { "sparsity", "structure", "text-ablation", "sinks", "edit-study" };

    public static Command Create()
    {
        var command = new Command("submit", "Run a study as shards: a Slurm job array, a Kubernetes Indexed Job, or one local process per GPU; then merge");
        command.Subcommands.Add(Slurm());
        command.Subcommands.Add(Kubernetes());
        command.Subcommands.Add(Local());
        return command;
    }

    private sealed class Shared
    {
        public Option<int> Shards { get; } = new("--shards") { Description = "number of shards (array tasks, pods)", DefaultValueFactory = _ => 4 };
        public Option<int> MaxParallel { get; } = new("--max-parallel") { Description = "most shards running at once (0: no limit)", DefaultValueFactory = _ => 0 };
        public Option<string> Name { get; } = new("--name") { Description = "job name", DefaultValueFactory = _ => "vditlens" };
        public Option<string?> Program { get; } = new("--program") { Description = "command that runs vditlens where the shards run (default: this program)" };
        public Argument<string[]> Study { get; } = new("study") { Description = "the study command after --, e.g. -- sparsity --model M --out R", Arity = ArgumentArity.OneOrMore };

        public void AddTo(Command c, bool withShards = true)
        {
            if (withShards) c.Options.Add(Shards);
            foreach (var o in new Option[] { MaxParallel, Name, Program }) c.Options.Add(o);
            c.Arguments.Add(Study);
        }

        public ShardedJob Job(ParseResult r, int shards, IReadOnlyList<string>? program = null)
        {
            var study = r.GetValue(Study)!;
            string verb = study[0];
            if (!ShardedVerbs.Contains(verb))
                throw new VDiTLensException($"submit: '{verb}' cannot be sharded yet (shardable: {string.Join(", ", ShardedVerbs)})");
            var args = study.Skip(1).ToArray();
            int outAt = Array.IndexOf(args, "--out");
            var job = new ShardedJob
            {
                Program = program ?? (r.GetValue(Program) is { } p ? p.Split(' ', StringSplitOptions.RemoveEmptyEntries) : ThisProgram()),
                Verb = verb, Arguments = args, Shards = shards,
                Out = outAt >= 0 && outAt + 1 < args.Length ? args[outAt + 1] : "out/report",
                WorkingDirectory = Environment.CurrentDirectory, MaxParallel = r.GetValue(MaxParallel), Name = r.GetValue(Name)!,
                // Uniform cells with K dense layers are ranked from every shard's single-layer cells, the held-out sparsity
                // study's arms from its development cells, the edit study's held-out cells use the band chosen on every
                // shard's development cells, and the sink study's arms need their baseline generation, which another shard
                // may compute: a second pass computes them.
                Phases = verb is "sinks" or "edit-study" || (verb == "sparsity" && (SparsityCommand.IsHeldOutStudy(args)
                    || args.Any(a => a.Contains("uniform", StringComparison.Ordinal)) || args.Contains("--preset"))) ? 2 : 1,
            };
            job.Validate();
            return job;
        }
    }

    /// <summary>How this program was started: the apphost, or <c>dotnet VDiTLens.Cli.dll</c>.</summary>
    public static string[] ThisProgram()
    {
        string process = Environment.ProcessPath ?? "dotnet";
        string dll = typeof(SubmitCommand).Assembly.Location;
        return Path.GetFileNameWithoutExtension(process) == "dotnet" ? new[] { process, dll } : new[] { process };
    }

    private static Command Slurm()
    {
        var shared = new Shared();
        var gres = new Option<string>("--gres") { Description = "generic resources per task", DefaultValueFactory = _ => "gpu:1" };
        var noGres = new Option<bool>("--no-gres") { Description = "request no generic resources (CPU-only clusters)" };
        var partition = new Option<string?>("--partition");
        var time = new Option<string?>("--time") { Description = "time limit per task, e.g. 04:00:00" };
        var scripts = new Option<string?>("--script-dir") { Description = "where the scripts and logs go (default: OUT/slurm)" };
        var submit = new Option<bool>("--submit") { Description = "submit with sbatch (array, second pass when needed, then merge with --dependency=afterany)" };
        var command = new Command("slurm", "Write (and with --submit, sbatch) a Slurm job array of shards and a dependent merge job");
        shared.AddTo(command);
        foreach (var o in new Option[] { gres, noGres, partition, time, scripts, submit }) command.Options.Add(o);
        command.SetAction(r =>
        {
            var job = shared.Job(r, r.GetValue(shared.Shards));
            string dir = Path.GetFullPath(r.GetValue(scripts) ?? Path.Combine(job.Out, "slurm"));
            Directory.CreateDirectory(dir);
            string array = Path.Combine(dir, "shards.sbatch"), merge = Path.Combine(dir, "merge.sbatch");
            File.WriteAllText(array, SlurmJob.ArrayScript(job, r.GetValue(noGres) ? null : r.GetValue(gres), dir, r.GetValue(partition), r.GetValue(time)));
            File.WriteAllText(merge, SlurmJob.MergeScript(job, dir, r.GetValue(partition)));
            AnsiConsole.WriteLine($"wrote {array} ({job.Shards} tasks{(job.Phases == 2 ? ", submitted twice: the second pass computes the cells that need other shards' cells" : "")}) and {merge}");
            if (!r.GetValue(submit))
            {
                AnsiConsole.WriteLine($"submit: id=$(sbatch --parsable {array}){(job.Phases == 2 ? $"; id=$(sbatch --parsable --dependency=afterany:$id {array})" : "")}; sbatch --dependency=afterany:$id {merge}");
                return 0;
            }
            string id = SlurmJob.ParseJobId(RunTool("sbatch", "--parsable", array));
            AnsiConsole.WriteLine($"array job {id}");
            if (job.Phases == 2)
            {
                id = SlurmJob.ParseJobId(RunTool("sbatch", "--parsable", $"--dependency=afterany:{id}", array));
                AnsiConsole.WriteLine($"second pass {id}");
            }
            string mergeId = SlurmJob.ParseJobId(RunTool("sbatch", "--parsable", $"--dependency=afterany:{id}", merge));
            AnsiConsole.WriteLine($"merge job {mergeId}");
            return 0;
        });
        return command;
    }

    private static Command Kubernetes()
    {
        var shared = new Shared();
        var containerImage = new Option<string>("--container-image") { Description = "container image with vditlens on PATH", Required = true };
        var claim = new Option<string>("--claim") { Description = "PersistentVolumeClaim shared by the pods, mounted at /results (the working directory)", Required = true };
        var gpus = new Option<int>("--gpus-per-pod") { Description = "nvidia.com/gpu per shard pod (0: none)", DefaultValueFactory = _ => 1 };
        var dir = new Option<string?>("--manifest-dir") { Description = "where the manifests go (default: OUT/k8s)" };
        var command = new Command("k8s", "Write a Kubernetes Indexed Job of shards (JOB_COMPLETION_INDEX = shard) and a merge Job");
        shared.AddTo(command);
        foreach (var o in new Option[] { containerImage, claim, gpus, dir }) command.Options.Add(o);
        command.SetAction(r =>
        {
            var job = shared.Job(r, r.GetValue(shared.Shards), r.GetValue(shared.Program) is { } p ? p.Split(' ', StringSplitOptions.RemoveEmptyEntries) : new[] { "vditlens" });
            string folder = Path.GetFullPath(r.GetValue(dir) ?? Path.Combine(job.Out, "k8s"));
            Directory.CreateDirectory(folder);
            var files = new List<string>();
            for (int phase = 1; phase <= job.Phases; phase++)
            {
                string file = Path.Combine(folder, phase == 1 ? "shards.yaml" : $"shards-phase{phase}.yaml");
                File.WriteAllText(file, KubernetesJob.ShardJob(job, r.GetValue(containerImage)!, r.GetValue(claim)!, r.GetValue(gpus), phase));
                files.Add(file);
            }
            string merge = Path.Combine(folder, "merge.yaml");
            File.WriteAllText(merge, KubernetesJob.MergeJob(job, r.GetValue(containerImage)!, r.GetValue(claim)!));
            AnsiConsole.WriteLine($"wrote {string.Join(", ", files)} and {merge}");
            foreach (var f in files)
                AnsiConsole.WriteLine($"kubectl apply -f {f} && kubectl wait --for=condition=complete --timeout=-1s job/{(f == files[0] ? job.Name : job.Name + "-phase2")}");
            AnsiConsole.WriteLine($"kubectl apply -f {merge}");
            return 0;
        });
        return command;
    }

    private static Command Local()
    {
        var shared = new Shared();
        var gpus = ListOption.Strings("--gpus", "GPU indices, one shard process each, pinned with CUDA_VISIBLE_DEVICES (e.g. 0,1,2,3)");
        gpus.Required = true;
        var command = new Command("local", "Run one shard process per GPU here (CUDA_VISIBLE_DEVICES pins each), then merge");
        shared.AddTo(command, withShards: false);
        command.Options.Add(gpus);
        command.SetAction(r =>
        {
            var devices = r.GetValue(gpus)!;
            var job = shared.Job(r, devices.Length);
            string logs = Path.Combine(job.Out, "logs");
            Directory.CreateDirectory(logs);
            for (int phase = 1; phase <= job.Phases; phase++)
            {
                var running = devices.Select((gpu, i) => Start(job, i, gpu, Path.Combine(logs, $"shard-{i}-pass{phase}.log"))).ToList();
                foreach (var (process, log) in running) process.WaitForExit();
                var failed = running.Where(x => x.Process.ExitCode != 0).Select(x => x.Log).ToList();
                if (failed.Count > 0) throw new VDiTLensException($"{failed.Count} shard(s) failed (rerun to resume): see {string.Join(", ", failed)}");
                AnsiConsole.WriteLine($"pass {phase}: {devices.Length} shards finished (logs in {logs})");
            }
            return MergeCommand.Run(job.Out, requireComplete: true);
        });
        return command;
    }

    private static (Process Process, string Log) Start(ShardedJob job, int index, string gpu, string log)
    {
        var info = new ProcessStartInfo(job.Program[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in job.Program.Skip(1).Concat(job.ShardArguments(index))) info.ArgumentList.Add(a);
        info.Environment["CUDA_VISIBLE_DEVICES"] = gpu;
        var process = Process.Start(info) ?? throw new VDiTLensException($"could not start {job.Program[0]}");
        var writer = new StreamWriter(log) { AutoFlush = true };
        var gate = new Lock();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (gate) writer.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (gate) writer.WriteLine(e.Data); };
        process.Exited += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return (process, log);
    }

    private static string RunTool(string tool, params string[] args)
    {
        var info = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        Process process;
        try { process = Process.Start(info)!; }
        catch (System.ComponentModel.Win32Exception) { throw new VDiTLensException($"{tool} is not on PATH (submit without --submit writes the scripts only)"); }
        string output = process.StandardOutput.ReadToEnd(), error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new VDiTLensException($"{tool} {string.Join(" ", args)}: exit {process.ExitCode}: {error.Trim()}");
        return output;
    }
}
