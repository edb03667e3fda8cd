using VDiTLens.Training;
using System.Diagnostics;
using System.Text.Json;
using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Attention;
using VDiTLens.IO;
using VDiTLens.Models.Wan;
using VDiTLens.Pipelines;
using VDiTLens.Runtime;
using VDiTLens.Studies.Sinks;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Retraining;

/// <summary>Progress of a retraining run (steps done of total, the latest loss, and the time so far).</summary>
public readonly record struct RetrainProgress(int Step, int Total, double Loss, TimeSpan Elapsed);

/// <summary>
/// Re-initialises chosen blocks (or only their self-attention) of a copy of the teacher's transformer and trains
/// them, everything else frozen, to reproduce the teacher by distillation on the teacher's own noisy latents.
/// Step s draws its pool entry from (seed, s) alone, so resuming from a checkpoint continues exactly.
/// The loss is ‖student − teacher‖² / ‖teacher‖² (per retrained block's output, averaged, or of the final output).
/// </summary>
public sealed class BlockRetrainer : IDisposable
{
    private readonly WanPipeline _teacher;
    private readonly List<double> _losses = new();
    private double _seconds;

    public RetrainOptions Options { get; }
    public string WorkFolder { get; }
    public string CheckpointFolder => Path.Combine(WorkFolder, "checkpoint");
    public WanTransformer3DModel Student { get; }
    public DistillationPool Pool { get; }
    public NamedAdamW Optimizer { get; }
    public int Step => _losses.Count;
    public IReadOnlyList<double> Losses => _losses;

    public BlockRetrainer(WanPipeline teacher, RetrainOptions options, string workFolder, IProgress<(int Done, int Total)>? poolProgress = null)
    {
        _teacher = teacher;
        Options = options;
        WorkFolder = workFolder;
        var config = teacher.Transformer.Config;
        options.Validate(config.num_layers);
        Directory.CreateDirectory(workFolder);
        Pool = DistillationPool.TryLoad(workFolder) ?? GeneratePool(teacher, options, workFolder, poolProgress);

        Student = WanTransformer3DModel.Load(teacher.Folder.Transformer, teacher.Options);
        Reinitialise(Student, options, teacher.Options);
        var trainable = new List<(string, Parameter)>();
        foreach (var (name, p) in Student.named_parameters())
        {
            bool train = options.Blocks.Any(b => name.StartsWith(Prefix(b, options.Scope), StringComparison.Ordinal));
            p.requires_grad = train;
            if (train) trainable.Add((name, p));
        }
        Optimizer = new NamedAdamW(trainable, weightDecay: options.WeightDecay);
        if (RetrainCheckpoint.Exists(CheckpointFolder)) Resume();
    }

    private static DistillationPool GeneratePool(WanPipeline teacher, RetrainOptions options, string folder, IProgress<(int, int)>? progress)
    {
        var pool = DistillationPool.Generate(teacher, options, progress);
        pool.Save(folder);
        return pool;
    }

    private static string Prefix(int block, RetrainScope scope) => scope == RetrainScope.Attention ? $"blocks.{block}.attn1." : $"blocks.{block}.";

    /// <summary>Fresh default initialisation (as a new model would get, seeded by the run's seed) of the retrained parameters.</summary>
    private static void Reinitialise(WanTransformer3DModel student, RetrainOptions options, ComputeOptions compute)
    {
        using var _ = torch.no_grad();
        torch.manual_seed(options.Seed);
        foreach (int b in options.Blocks)
        {
            using var fresh = new WanTransformerBlock(student.Config, b, new AttentionSeam(), compute.Device, compute.DType,
                WanTransformer3DModel.KeepDtype(compute.DType));
            var freshParams = fresh.named_parameters().ToDictionary(kv => $"blocks.{b}." + kv.name, kv => kv.parameter);
            foreach (var (name, p) in student.named_parameters())
                if (name.StartsWith(Prefix(b, options.Scope), StringComparison.Ordinal))
                    p.copy_(freshParams[name]);
        }
    }

    private void Resume()
    {
        var state = RetrainCheckpoint.ReadState(CheckpointFolder);
        var o = state.Options;
        if (!o.Blocks.SequenceEqual(Options.Blocks) || o.Scope != Options.Scope || o.Target != Options.Target || o.Seed != Options.Seed
            || o.LearningRate != Options.LearningRate || o.WeightDecay != Options.WeightDecay)
            throw new VDiTLensException($"{CheckpointFolder}: the checkpoint was started with other options (blocks [{string.Join(",", o.Blocks)}], scope {o.Scope}, target {o.Target}, seed {o.Seed}, lr {o.LearningRate}); use the same options or another --out");
        RetrainCheckpoint.Load(CheckpointFolder, Optimizer);
        _losses.AddRange(state.Losses);
        _seconds = state.TrainingSeconds;
    }

    public void SaveCheckpoint() =>
        RetrainCheckpoint.Save(CheckpointFolder, new RetrainState(Step, _seconds, _losses.ToArray(), Options), Optimizer);

    /// <summary>Trains until <see cref="RetrainOptions.TrainingSteps"/>, checkpointing every <see cref="RetrainOptions.CheckpointEvery"/> steps and at the end.</summary>
    public void Train(IProgress<RetrainProgress>? progress = null, CancellationToken cancel = default, int? stopAfter = null)
    {
        int end = Math.Min(Options.TrainingSteps, stopAfter ?? int.MaxValue);
        var clock = Stopwatch.StartNew();
        double start = _seconds;
        Student.train();
        while (Step < end)
        {
            cancel.ThrowIfCancellationRequested();
            double loss = TrainStep();
            _seconds = start + clock.Elapsed.TotalSeconds;
            progress?.Report(new RetrainProgress(Step, Options.TrainingSteps, loss, TimeSpan.FromSeconds(_seconds)));
            if (Step % Options.CheckpointEvery == 0 || Step == end) SaveCheckpoint();
        }
        Student.eval();
    }

    /// <summary>One AdamW step on one pool entry; returns its loss.</summary>
    public double TrainStep()
    {
        var random = new Random(StableSeed.Of(Options.Seed, Step));
        long entry = random.NextInt64(Pool.Count);
        using var scope = torch.NewDisposeScope();
        var device = _teacher.Options.Device;
        var latents = Pool.Latents[entry].unsqueeze(0).to(device);
        var timestep = Pool.Timesteps[entry].view(1).to(device);
        var text = Pool.Texts[Pool.TextIndex[entry].item<long>()].unsqueeze(0).to(device).to(_teacher.Options.DType);
        Optimizer.ZeroGrad();
        var loss = Options.Target == DistillationTarget.FinalOutput ? FinalLoss(latents, timestep, text) : BlockLoss(latents, timestep, text);
        loss.backward();
        Optimizer.Step(Options.LearningRate);
        double value = loss.to(ScalarType.Float64).item<double>();
        _losses.Add(value);
        return value;
    }

    private static Tensor Relative(Tensor student, Tensor teacher)
    {
        var t = teacher.to(ScalarType.Float32);
        return (student.to(ScalarType.Float32) - t).square().sum() / t.square().sum().clamp_min(1e-30);
    }

    private Tensor FinalLoss(Tensor latents, Tensor timestep, Tensor text)
    {
        Tensor target;
        using (torch.no_grad()) target = _teacher.Transformer.Forward(latents, timestep, text);
        return Relative(Student.Forward(latents, timestep, text), target);
    }

    private Tensor BlockLoss(Tensor latents, Tensor timestep, Tensor text)
    {
        var wanted = new HashSet<string>(Options.Blocks.SelectMany(b => new[] { b == 0 ? "patch_embedding" : $"blocks.{b - 1}", $"blocks.{b}" }));
        var captured = new Dictionary<string, Tensor>();
        WanBlockConditioning? conditioning = null;
        var teacher = _teacher.Transformer;
        teacher.BlockOutputs = (key, h) => { if (wanted.Contains(key)) captured[key] = h; else h.Dispose(); };
        teacher.BlockConditioning = c => conditioning = c;
        try
        {
            using (torch.no_grad()) teacher.Forward(latents, timestep, text).Dispose();
        }
        finally
        {
            teacher.BlockOutputs = null;
            teacher.BlockConditioning = null;
        }
        using var c = conditioning!;
        var losses = Options.Blocks.Select(b =>
        {
            var input = captured[b == 0 ? "patch_embedding" : $"blocks.{b - 1}"];
            var output = Student.blocks[b].Forward(input, c.Context, c.TimestepProj, c.Rotary, c.Video, c.Text);
            return Relative(output, captured[$"blocks.{b}"]);
        }).ToArray();
        var loss = torch.stack(losses).mean();
        foreach (var t in captured.Values) t.Dispose();
        return loss;
    }

    /// <summary>Writes a pipeline folder: the teacher's folder with the student's transformer weights.</summary>
    public void SavePipeline(string folder)
    {
        string source = _teacher.Folder.Folder.Path;
        string full = Path.GetFullPath(folder), temporary = full + ".tmp";
        if (Directory.Exists(temporary)) Directory.Delete(temporary, true);
        Copy(source, temporary, Path.GetFullPath(_teacher.Folder.Transformer.Path));
        string transformer = Path.Combine(temporary, Path.GetRelativePath(source, _teacher.Folder.Transformer.Path));
        Directory.CreateDirectory(transformer);
        File.Copy(Path.Combine(_teacher.Folder.Transformer.Path, "config.json"), Path.Combine(transformer, "config.json"), true);
        SafeTensorsWriter.Save(Path.Combine(transformer, "diffusion_pytorch_model.safetensors"), Student.state_dict());
        File.WriteAllText(Path.Combine(temporary, "retrain.json"), JsonSerializer.Serialize(new { Options, Step, FinalLoss = _losses.LastOrDefault() }, new JsonSerializerOptions { WriteIndented = true }));
        if (Directory.Exists(full)) Directory.Delete(full, true);
        Directory.Move(temporary, full);
    }

    private static void Copy(string from, string to, string skip)
    {
        Directory.CreateDirectory(to);
        if (Path.GetFullPath(from) == skip) return;
        foreach (var file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        foreach (var dir in Directory.GetDirectories(from)) Copy(dir, Path.Combine(to, Path.GetFileName(dir)), skip);
    }

    public void Dispose()
    {
        Optimizer.Dispose();
        Student.Dispose();
        Pool.Dispose();
    }
}
