using System.Diagnostics;
using System.Text.Json;
using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Attention;
using VDiTLens.IO;
using VDiTLens.Models.Common;
using VDiTLens.Pipelines;
using VDiTLens.Studies.Sinks;
using VDiTLens.Training;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Retraining;

/// <summary>Progress of a retraining run (steps done of total, the latest loss, and the time so far).</summary>
public readonly record struct RetrainProgress(int Step, int Total, double Loss, TimeSpan Elapsed);

/// <summary>
/// Re-initialises chosen blocks (or only their self/joint attention) of a copy of the teacher's transformer, of any
/// family, and trains them with everything else frozen. The target (<see cref="DistillationTarget"/>): each retrained
/// block's output given the teacher's input to it (‖student − teacher‖² / ‖teacher‖², averaged over the blocks, both
/// streams of joint families), the model output (the same relative error), or the data: the family's own denoising
/// objective (<see cref="ITextToVideoPipeline.Objective"/>, mean squared error) on the teacher's generated samples,
/// noised afresh at the pool entry's timestep. Blocks are read and run through <see cref="BlockHooks"/>. Step s draws
/// its pool entry and noise from (seed, s) alone, so resuming from a checkpoint continues exactly.
/// </summary>
public sealed class BlockRetrainer : IDisposable
{
    private readonly ITextToVideoPipeline _teacher;
    private readonly IVideoTransformer _teacherModel;
    private readonly ModelFolder _teacherFolder;
    private readonly long[] _entries;
    private readonly TrainingImageCondition? _image;
    private readonly List<double> _losses = new();
    private double _seconds;

    public RetrainOptions Options { get; }
    public string WorkFolder { get; }
    public string CheckpointFolder => Path.Combine(WorkFolder, "checkpoint");
    public IVideoTransformer Student { get; }
    public DistillationPool Pool { get; }
    public NamedAdamW Optimizer { get; }
    public int Step => _losses.Count;
    public IReadOnlyList<double> Losses => _losses;

    public BlockRetrainer(ITextToVideoPipeline teacher, RetrainOptions options, string workFolder, IProgress<(int Done, int Total)>? poolProgress = null)
    {
        _teacher = teacher;
        Options = options;
        WorkFolder = workFolder;
        (_teacherModel, _teacherFolder) = ExpertOf(teacher, options.Expert);
        options.Validate(_teacherModel.Hooks.Names.Count);
        var prefixes = options.Blocks.Select(b => RetrainedPrefix(_teacherModel, b, options.Scope)).ToArray();
        _image = TrainingImageCondition.Of(teacher, options);
        Directory.CreateDirectory(workFolder);
        Pool = DistillationPool.TryLoad(workFolder) ?? GeneratePool(teacher, options, workFolder, poolProgress);
        _entries = EntriesOf(teacher, Pool, options.Expert);

        Student = TransformerLoader.Load(_teacherFolder.Path, teacher.Options);
        TransformerReinitialisation.Apply(Student, _teacherFolder, teacher.Options, options.Seed, prefixes);
        var trainable = new List<(string, Parameter)>();
        foreach (var (name, p) in Module(Student).named_parameters())
        {
            bool train = prefixes.Any(prefix => name.StartsWith(prefix, StringComparison.Ordinal));
            p.requires_grad = train;
            if (train) trainable.Add((name, p));
        }
        Optimizer = new NamedAdamW(trainable, weightDecay: options.WeightDecay);
        if (RetrainCheckpoint.Exists(CheckpointFolder)) Resume();
    }

    /// <summary>
    /// The parameter prefix retrained in block <paramref name="block"/>: the whole block (<c>{name}.</c>), or its
    /// attention among the video tokens (the block's self- or joint-attention site, e.g. <c>blocks.3.attn1.</c>).
    /// </summary>
    public static string RetrainedPrefix(IVideoTransformer model, int block, RetrainScope scope)
    {
        string name = model.Hooks.Names[block];
        if (scope == RetrainScope.Block) return name + ".";
        var site = BlockAttention.Of(model, block)
            ?? throw new VDiTLensException($"Scope Attention: block {name} has no self- or joint-attention site; retrain the whole block");
        return site.Name + ".";
    }

    private static nn.Module Module(IVideoTransformer model) => (nn.Module)model;

    /// <summary>The retrained denoiser and its folder: the pipeline's transformer, or Wan2.2 A14B's <c>transformer_2</c>.</summary>
    public static (IVideoTransformer Model, ModelFolder Folder) ExpertOf(ITextToVideoPipeline teacher, string expert)
    {
        if (expert == AttentionRunState.MainExpert) return (teacher.Transformer, teacher.TransformerFolder);
        if (expert != WanExperts.Second)
            throw new VDiTLensException($"Expert '{expert}': use {AttentionRunState.MainExpert} (the high-noise expert of a two-expert folder) or {WanExperts.Second} (its low-noise expert)");
        if (teacher is WanPipeline { Experts.Transformer2: { } second } wan && wan.Folder.Transformer2 is { } folder) return (second, folder);
        throw new VDiTLensException($"Expert {WanExperts.Second}: {teacher.FolderPath} has one transformer (only a Wan2.2 A14B folder has transformer_2)");
    }

    /// <summary>The pool entries the expert denoises (every entry with one transformer; with two, those whose timestep is the expert's).</summary>
    private static long[] EntriesOf(ITextToVideoPipeline teacher, DistillationPool pool, string expert)
    {
        if (teacher is not WanPipeline { Experts.Transformer2: not null } wan) return Enumerable.Range(0, (int)pool.Count).Select(i => (long)i).ToArray();
        var timesteps = pool.Timesteps.data<float>().ToArray();
        var entries = Enumerable.Range(0, timesteps.Length).Where(i => wan.ExpertAt(timesteps[i]) == expert).Select(i => (long)i).ToArray();
        return entries.Length > 0 ? entries
            : throw new VDiTLensException($"Expert {expert}: no step of the distillation pool falls in its timesteps (boundary_ratio {wan.Folder.BoundaryRatio}); generate with more steps (GenerationSteps, --steps)");
    }

    private static DistillationPool GeneratePool(ITextToVideoPipeline teacher, RetrainOptions options, string folder, IProgress<(int, int)>? progress)
    {
        var pool = DistillationPool.Generate(teacher, options, progress);
        pool.Save(folder);
        return pool;
    }

    private void Resume()
    {
        var state = RetrainCheckpoint.ReadState(CheckpointFolder);
        var o = state.Options;
        if (!o.Blocks.SequenceEqual(Options.Blocks) || o.Scope != Options.Scope || o.Target != Options.Target || o.Seed != Options.Seed
            || o.LearningRate != Options.LearningRate || o.WeightDecay != Options.WeightDecay || o.Expert != Options.Expert || o.ImageHash != Options.ImageHash)
            throw new VDiTLensException($"{CheckpointFolder}: the checkpoint was started with other options (blocks [{string.Join(",", o.Blocks)}], scope {o.Scope}, target {o.Target}, seed {o.Seed}, lr {o.LearningRate}, expert {o.Expert}, image {o.ImageHash ?? "none"}); use the same options or another work folder");
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
        if (_teacher is WanPipeline wan) wan.Experts.Activate(Options.Expert);
        Module(Student).train();
        while (Step < end)
        {
            cancel.ThrowIfCancellationRequested();
            double loss = TrainStep();
            _seconds = start + clock.Elapsed.TotalSeconds;
            progress?.Report(new RetrainProgress(Step, Options.TrainingSteps, loss, TimeSpan.FromSeconds(_seconds)));
            if (Step % Options.CheckpointEvery == 0 || Step == end) SaveCheckpoint();
        }
        Module(Student).eval();
    }

    /// <summary>The pool entry step <paramref name="step"/> trains on (one of the retrained expert's entries).</summary>
    public long EntryOf(int step) => _entries[new Random(StableSeed.Of(Options.Seed, step)).NextInt64(_entries.Length)];

    /// <summary>The noise of step <paramref name="step"/>'s data target: standard normal like one pool sample, float32 on the CPU.</summary>
    public Tensor NoiseOf(int step)
    {
        using var generator = new Generator((ulong)StableSeed.Of(Options.Seed, step, 1));
        return torch.randn(Pool.Samples[0].unsqueeze(0).shape, generator: generator);
    }

    /// <summary>One AdamW step on one pool entry; returns its loss (before the step).</summary>
    public double TrainStep()
    {
        long entry = EntryOf(Step);
        using var scope = torch.NewDisposeScope();
        var device = _teacher.Options.Device;
        var latents = Pool.Latents[entry].unsqueeze(0).to(device);
        var timestep = Pool.Timesteps[entry].view(1).to(device);
        using var text = Pool.Text(Pool.TextIndex[entry].item<long>(), device, _teacher.Options.DType);
        Optimizer.ZeroGrad();
        var loss = Options.Target switch
        {
            DistillationTarget.FinalOutput => FinalLoss(latents, timestep, text),
            DistillationTarget.Data => DataLoss(Pool.Samples[Pool.SampleIndex[entry].item<long>()].unsqueeze(0).to(device), timestep, text),
            _ => BlockLoss(latents, timestep, text),
        };
        loss.backward();
        Optimizer.Step(Options.LearningRate);
        double value = loss.to(ScalarType.Float64).item<double>();
        _losses.Add(value);
        return value;
    }

    private IReadOnlyDictionary<string, Tensor> Inputs(Tensor latents, Tensor timestep, TextConditioning text)
    {
        var inputs = _teacher.TransformerInputs(latents, timestep, text, Options.GuidanceScale);
        return _image is null ? inputs : _image.AddTo(inputs);
    }

    private static Tensor Relative(Tensor student, Tensor teacher)
    {
        var t = teacher.to(ScalarType.Float32);
        return (student.to(ScalarType.Float32) - t).square().sum() / t.square().sum().clamp_min(1e-30);
    }

    private Tensor FinalLoss(Tensor latents, Tensor timestep, TextConditioning text)
    {
        Tensor target;
        using (torch.no_grad()) target = _teacherModel.Forward(Inputs(latents, timestep, text));
        return Relative(Student.Forward(Inputs(latents, timestep, text)), target);
    }

    /// <summary>The family's denoising objective on the teacher's sample <paramref name="clean"/> with this step's noise at the entry's timestep.</summary>
    private Tensor DataLoss(Tensor clean, Tensor timestep, TextConditioning text)
    {
        var (noisy, target) = _teacher.Objective.Sample(clean, NoiseOf(Step).to(clean.device), timestep);
        var prediction = Student.Forward(Inputs(noisy, timestep, text));
        return (prediction.to(ScalarType.Float32) - target).square().mean();
    }

    /// <summary>
    /// Teacher forcing: the teacher's forward records each retrained block's input and output; the student runs only
    /// its retrained blocks, each on the teacher's input (the other blocks pass their input through unrun).
    /// </summary>
    private Tensor BlockLoss(Tensor latents, Tensor timestep, TextConditioning text)
    {
        var wanted = Options.Blocks.ToHashSet();
        var inputs = new Dictionary<int, BlockStream>();
        var outputs = new Dictionary<int, BlockStream>();
        var teacher = _teacherModel.Hooks;
        teacher.Interceptor = (i, input, run) =>
        {
            var output = run(input);
            if (wanted.Contains(i))
            {
                inputs[i] = Keep(input, detach: true);
                outputs[i] = Keep(output, detach: true);
            }
            return output;
        };
        try
        {
            using (torch.no_grad()) _teacherModel.Forward(Inputs(latents, timestep, text)).Dispose();
        }
        finally { teacher.Interceptor = null; }

        var produced = new Dictionary<int, BlockStream>();
        var student = Student.Hooks;
        student.Interceptor = (i, input, run) =>
        {
            if (!wanted.Contains(i)) return new BlockStream(input.Video.detach(), input.Text?.detach());
            var output = run(inputs[i]);
            produced[i] = Keep(output, detach: false);
            return output;
        };
        try
        {
            Student.Forward(Inputs(latents, timestep, text)).Dispose();
        }
        finally { student.Interceptor = null; }

        var losses = Options.Blocks.Select(b =>
        {
            var (s, t) = (produced[b], outputs[b]);
            return s.Text is null || t.Text is null
                ? Relative(s.Video, t.Video)
                : Relative(torch.cat(new[] { s.Video.flatten(), s.Text.flatten() }), torch.cat(new[] { t.Video.flatten(), t.Text.flatten() }));
        }).ToArray();
        return torch.stack(losses).mean();
    }

    /// <summary>A handle to a block stream that outlives the model's dispose scope (and the model disposing its own handles).</summary>
    private static BlockStream Keep(BlockStream s, bool detach)
    {
        Tensor Handle(Tensor t) => (detach ? t.detach() : t.alias()).DetachFromDisposeScope();
        return new BlockStream(Handle(s.Video), s.Text is null ? null : Handle(s.Text));
    }

    /// <summary>Writes a pipeline folder: the teacher's folder with the student's weights in the retrained expert's component.</summary>
    public void SavePipeline(string folder)
    {
        string source = _teacher.FolderPath, transformerPath = _teacherFolder.Path;
        Training.CheckpointFolder.Replace(folder, temporary =>
        {
            Copy(source, temporary, Path.GetFullPath(transformerPath));
            string transformer = Path.Combine(temporary, Path.GetRelativePath(source, transformerPath));
            Directory.CreateDirectory(transformer);
            File.Copy(Path.Combine(transformerPath, "config.json"), Path.Combine(transformer, "config.json"), true);
            SafeTensorsWriter.Save(Path.Combine(transformer, "diffusion_pytorch_model.safetensors"), Module(Student).state_dict());
            File.WriteAllText(Path.Combine(temporary, "retrain.json"), JsonSerializer.Serialize(new { Options, Step, FinalLoss = _losses.LastOrDefault() }, new JsonSerializerOptions { WriteIndented = true }));
        });
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
        _image?.Dispose();
        Pool.Dispose();
    }
}
