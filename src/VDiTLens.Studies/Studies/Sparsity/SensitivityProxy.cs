using System.Globalization;
using System.Text;
using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Pipelines;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Sparsity;

/// <summary>What the teacher-forced proxy measures: methods × levels on each self-attention layer, at a few steps.</summary>
public sealed record ProxyOptions
{
    public IReadOnlyList<SweepMethod> Methods { get; init; } = new[] { SweepMethod.Default };
    public IReadOnlyList<double> Levels { get; init; } = new[] { 0.1, 0.3, 0.5, 0.7, 0.9 };
    /// <summary>Self-attention site names measured; empty = every self-attention site.</summary>
    public IReadOnlyList<string> Sites { get; init; } = Array.Empty<string>();
    /// <summary>Denoising steps sampled, evenly spread from the first to the last.</summary>
    public int Samples { get; init; } = 4;

    public void Validate()
    {
        if (Methods.Count == 0) throw new VDiTLensException("the proxy has no method");
        if (Levels.Count == 0) throw new VDiTLensException("the proxy has no level");
        if (Samples < 1) throw new VDiTLensException($"proxy samples {Samples}: at least one step is needed");
    }
}

/// <summary>
/// One (method, layer, level): the relative change of the guided velocity, mean over the sampled steps, and per step;
/// <see cref="PerItem"/>: each batch item's (prompt's) own relative change, mean over the sampled steps.
/// </summary>
public sealed record ProxyCell(string Method, int Layer, string Site, double Level, double RelativeChange, IReadOnlyList<double> PerStep)
{
    public IReadOnlyList<double> PerItem { get; init; } = Array.Empty<double>();
}

public sealed record ProxyResult(IReadOnlyList<ProxyCell> Cells, IReadOnlyList<int> Steps, int Forwards, TimeSpan Elapsed)
{
    /// <summary>Layers ordered from most to least sensitive by the mean relative change over levels (ties: lower layer first).</summary>
    public IReadOnlyList<(int Layer, string Site, double Mean)> Ranking(string method) => Cells.Where(c => c.Method == method)
        .GroupBy(c => (c.Layer, c.Site)).Select(g => (g.Key.Layer, g.Key.Site, g.Average(c => c.RelativeChange)))
        .OrderByDescending(x => x.Item3).ThenBy(x => x.Layer).ToArray();

    public string Csv()
    {
        var s = new StringBuilder("method,layer,site,level,velocity_rel_change," + string.Join(",", Steps.Select(t => $"step{t}")) + "\n");
        string F(double v) => v.ToString("G6", CultureInfo.InvariantCulture);
        foreach (var c in Cells)
            s.Append($"{c.Method},{c.Layer},{c.Site},{F(c.Level)},{F(c.RelativeChange)},{string.Join(",", c.PerStep.Select(F))}\n");
        return s.ToString();
    }
}

/// <summary>
/// A cheap first pass of the sensitivity sweep: instead of a full generation per (layer, level), the relative change
/// ‖v_sparse − v_dense‖ / ‖v_dense‖ of the guided velocity the transformer predicts at a few noisy latents x_t taken from
/// ONE dense trajectory (teacher forcing: every cell sees the same dense x_t), one forward per branch each.
/// Wan pipelines (the transformer is called directly).
/// </summary>
public static class SensitivityProxy
{
    public static IReadOnlyList<AttentionSite> Layers(WanPipeline pipeline, ProxyOptions options)
    {
        var self = pipeline.Sites.Where(s => s.Kind == AttentionKind.Self).ToList();
        if (options.Sites.Count == 0) return self;
        foreach (var name in options.Sites)
            if (self.All(s => s.Name != name))
                throw new VDiTLensException($"proxy site '{name}' is not a self-attention site ({self[0].Name} … {self[^1].Name})");
        return self.Where(s => options.Sites.Contains(s.Name)).ToList();
    }

    /// <summary>Forwards: the dense trajectory, then per sampled step the dense and every cell's prediction (× 2 with guidance).</summary>
    public static int Forwards(GenerationRequest request, ProxyOptions options, int layers)
    {
        int branches = request.GuidanceScale > 1 ? 2 : 1;
        int samples = Math.Min(options.Samples, request.Steps);
        return request.Steps * branches + samples * (1 + options.Methods.Count * options.Levels.Count * layers) * branches;
    }

    public static int[] SampleSteps(int steps, int samples) =>
        Enumerable.Range(0, Math.Min(samples, steps)).Select(i => samples >= steps ? i : (int)Math.Round(i * (steps - 1.0) / Math.Max(1, samples - 1))).Distinct().ToArray();

    /// <param name="trajectoryObserver">Attached during the dense trajectory only (e.g. a <see cref="TemperatureCalibrator"/>); it must not change the output.</param>
    public static ProxyResult Run(WanPipeline pipeline, GenerationRequest request, ProxyOptions options, IProgress<(int Done, int Total)>? progress = null,
        IAttentionIntervention? trajectoryObserver = null)
    {
        options.Validate();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var layers = Layers(pipeline, options);
        var steps = SampleSteps(request.Steps, options.Samples);
        int total = Forwards(request, options, layers.Count), done = 0;
        using var _ = torch.no_grad();
        // the dense trajectory: the input latents of each sampled step
        var inputs = new Dictionary<int, Tensor>();
        var current = pipeline.InitialLatents(request).cpu();
        progress?.Report((0, total));
        using (trajectoryObserver is null ? null : pipeline.Seam.Attach(trajectoryObserver))
        using (var final = pipeline.Denoise(request with
               {
                   OnStep = info =>
                   {
                       if (steps.Contains(info.Step)) inputs[info.Step] = current;
                       else current.Dispose();
                       current = info.Latents.cpu().clone().DetachFromDisposeScope();
                       progress?.Report((done += request.GuidanceScale > 1 ? 2 : 1, total));
                   },
               }))
            current.Dispose();
        var timesteps = steps.ToDictionary(s => s, s => pipeline.Scheduler.Timesteps[s].clone());
        bool guided = request.GuidanceScale > 1;
        using var cond = new TextConditioning(pipeline.EncodePrompts(request.Prompts, request.MaxSequenceLength), null);
        using var uncond = guided ? new TextConditioning(pipeline.EncodePrompts(Enumerable.Repeat(request.NegativePrompt, request.Prompts.Count).ToArray(), request.MaxSequenceLength), null) : null;
        using var call = pipeline.LoopCall(request);   // the expert, image condition and per-token timesteps the loop used
        var device = pipeline.Options.Device;

        Tensor Velocity(int step)
        {
            using var scope = torch.NewDisposeScope();
            var x = inputs[step].to(device);
            var t = timesteps[step].expand(x.shape[0]).to(device);
            double timestep = timesteps[step].to(ScalarType.Float64).item<double>();
            var state = pipeline.Seam.State;
            (state.Step, state.Timestep, state.Expert, state.Branch) = (step, timestep, pipeline.ExpertAt(timestep), "cond");
            var c = call.Forward(x, t, cond).to(ScalarType.Float32);
            done++;
            if (uncond is null) return c.cpu().MoveToOuterDisposeScope();
            state.Branch = "uncond";
            var u = call.Forward(x, t, uncond).to(ScalarType.Float32);
            done++;
            return (u + pipeline.GuidanceScaleAt(request, timestep) * (c - u)).cpu().MoveToOuterDisposeScope();
        }

        var perStep = new Dictionary<(string, int, double), List<double>>();
        var perItem = new Dictionary<(string, int, double), List<double[]>>();
        try
        {
            foreach (int step in steps)
            {
                using var dense = Velocity(step);
                progress?.Report((done, total));
                foreach (var method in options.Methods)
                    foreach (var site in layers)
                        foreach (double level in options.Levels)
                        {
                            var attached = method.Build(level, new[] { site.Name }).Select(i => pipeline.Seam.Attach(i)).ToList();
                            try
                            {
                                using var sparse = Velocity(step);
                                double change = Metrics.RelativeL2.Of(dense, sparse);
                                var key = (method.Name, site.Layer, level);
                                if (!perStep.TryGetValue(key, out var list)) perStep[key] = list = new List<double>();
                                list.Add(change);
                                if (!perItem.TryGetValue(key, out var items)) perItem[key] = items = new List<double[]>();
                                items.Add(ItemChanges(dense, sparse));
                            }
                            finally
                            {
                                foreach (var a in attached) a.Dispose();
                            }
                            progress?.Report((done, total));
                        }
            }
        }
        finally
        {
            pipeline.Seam.State.Reset();
            foreach (var t in inputs.Values.Concat(timesteps.Values)) t.Dispose();
        }
        var cells = options.Methods.SelectMany(m => layers.SelectMany(site => options.Levels.Select(level =>
        {
            var values = perStep[(m.Name, site.Layer, level)];
            var items = perItem[(m.Name, site.Layer, level)];
            return new ProxyCell(m.Name, site.Layer, site.Name, level, values.Average(), values)
            {
                PerItem = Enumerable.Range(0, items[0].Length).Select(i => items.Average(step => step[i])).ToArray(),
            };
        }))).ToArray();
        return new ProxyResult(cells, steps, total, clock.Elapsed);
    }

    /// <summary>‖sparse_i − dense_i‖ / ‖dense_i‖ of each batch item i (dim 0).</summary>
    private static double[] ItemChanges(Tensor dense, Tensor sparse)
    {
        using var scope = torch.NewDisposeScope();
        var d = dense.to(ScalarType.Float64).flatten(1);
        var change = (sparse.to(ScalarType.Float64).flatten(1) - d).square().sum(1).sqrt() / d.square().sum(1).sqrt();
        return change.data<double>().ToArray();
    }
}
