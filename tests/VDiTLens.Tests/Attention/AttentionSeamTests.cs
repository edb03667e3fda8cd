using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Attention.BlockSparse;
using VDiTLens.Interventions;
using VDiTLens.Interventions.Sparsity;
using VDiTLens.Probes;
using VDiTLens.Tests.Interventions;
using VDiTLens.Tests.Probes;
using VDiTLens.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Attention;

/// <summary>
/// The seam's contract: interventions chain in order and detach; nothing attached is a direct kernel call; every
/// accepted call reaches the probes with the attention it applied (sparse selections, temperature); branches select
/// rows, so batched and split guidance agree; identity interventions change nothing; selections compose.
/// </summary>
public sealed class AttentionSeamTests(ITestOutputHelper output)
{
    private static Tensor Attend(AttentionSeam seam, InterventionCase c, Tensor? mask = null) =>
        seam.Attend(c.Site, c.Q, c.K, c.V, c.Layout, c.Layout, mask ?? c.Mask, c.Scale);

    [Fact]
    public void Interventions_run_in_the_order_attached_the_first_outermost_and_probes_see_the_terminal_call()
    {
        var c = new InterventionCase();
        var seam = new AttentionSeam();
        var order = new List<string>();
        AttentionInterceptor Named(string name) => (call, q, k, v, next) =>
        {
            order.Add(name + ">");
            var result = next(call with { Scale = call.Scale * 2 }, q, k, v);
            order.Add("<" + name);
            return result;
        };
        double seenScale = 0;
        using var first = seam.Intercept(AttentionSelector.All, Named("a"));
        using var second = seam.Intercept(AttentionSelector.All, Named("b"));
        using var probe = seam.Observe(AttentionSelector.All, (call, _, _, _, _) => { order.Add("probe"); seenScale = call.Scale; });
        var result = Attend(seam, c);
        Assert.Equal(new[] { "a>", "b>", "probe", "<b", "<a" }, order);
        Assert.Equal(c.Scale * 4, seenScale, 15);
        Fixtures.AssertClose(result, AttentionKernels.Sdpa(c.Q, c.K, c.V, c.Scale * 4, c.Mask), 1e-12, "output at the doubled-twice scale");
    }

    [Fact]
    public void Detached_probes_and_interventions_see_and_change_nothing_more()
    {
        var c = new InterventionCase();
        var seam = new AttentionSeam();
        int observed = 0, intercepted = 0;
        var probe = seam.Observe(AttentionSelector.All, (_, _, _, _, _) => observed++);
        var intervention = seam.Intercept(AttentionSelector.All, (call, q, k, v, next) => { intercepted++; return next(call with { Scale = 3 * call.Scale }, q, k, v); });
        Assert.False(Attend(seam, c).eq(c.Dense()).all().item<bool>());
        probe.Dispose();
        intervention.Dispose();
        intervention.Dispose(); // twice is harmless
        Assert.True(Attend(seam, c).eq(c.Dense()).all().item<bool>());
        Assert.Equal((1, 1), (observed, intercepted));
        Assert.Empty(seam.Probes);
        Assert.Empty(seam.Interventions);
    }

    [Fact]
    public void With_nothing_attached_the_kernel_receives_the_call_directly()
    {
        var c = new InterventionCase();
        var seam = new AttentionSeam();
        Tensor? seen = null;
        AttentionCall? seenCall = null;
        seam.Kernel = (call, q, k, v) => { seen = q; seenCall = call; return AttentionSeam.DenseKernel(call, q, k, v); };
        var result = Attend(seam, c);
        Assert.Same(c.Q, seen);
        Assert.Same(c.Mask, seenCall!.Mask);
        Assert.Empty(seenCall.Keys);
        Assert.True(result.eq(c.Dense()).all().item<bool>());
    }

    [Fact]
    public void An_intervention_that_returns_without_calling_next_is_refused_naming_the_site()
    {
        var c = new InterventionCase();
        var seam = new AttentionSeam();
        int observed = 0;
        using var probe = seam.Observe(AttentionSelector.All, (_, _, _, _, _) => observed++);
        using var shortCircuit = seam.Intercept(AttentionSelector.All, (_, q, _, _, _) => torch.zeros_like(q));
        var error = Assert.Throws<VDiTLensException>(() => Attend(seam, c));
        Assert.Contains(c.Site.Name, error.Message);
        Assert.Contains("next", error.Message);
    }

    /// <summary>Every statistic of the blockwise probes against loops over the given probabilities.</summary>
    private void AssertStatistics(ProbeResults results, string site, double[,,,] p, double tolerance, string what)
    {
        var frames = new FrameGrouping().Assign(new InterventionCase().Layout)!.Value;
        var modalities = new ModalityGrouping().Assign(new InterventionCase().Layout)!.Value;
        var (entropy, coverage) = ProbeReference.EntropyCoverage(p, EntropyCoverage.Levels);
        output.WriteLine($"{what}: {results.Count} results at {site}");
        Fixtures.AssertClose(results[$"{site}.received_mass"], ProbeReference.FromArray(ProbeReference.ReceivedMass(p)), tolerance, $"{what} received mass", output);
        Fixtures.AssertClose(results[$"{site}.frame_map"], ProbeReference.FromArray(ProbeReference.Pooled(p, frames.Groups, frames.Count, frames.Groups, frames.Count, true)), tolerance, $"{what} frame map", output);
        Fixtures.AssertClose(results[$"{site}.modality_map"], ProbeReference.FromArray(ProbeReference.Pooled(p, modalities.Groups, 2, modalities.Groups, 2, false)), tolerance, $"{what} modality map", output);
        Fixtures.AssertClose(results[$"{site}.entropy"], ProbeReference.FromArray(entropy), tolerance, $"{what} entropy", output);
        Fixtures.AssertClose(results[$"{site}.coverage"], ProbeReference.FromArray(coverage), tolerance, $"{what} coverage", output);
    }

    private static ProbeSet Probes(AttentionSeam seam, bool fused, AttentionSelector? filter = null, ProbeGrouping grouping = ProbeGrouping.Site, Action<string>? warn = null) =>
        new(seam, new ProbeOptions { Probes = ProbeOptions.AllProbes, Fused = fused, Filter = filter ?? AttentionSelector.All, Grouping = grouping, TileSize = 2, Warn = warn });

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Probes_at_a_sparsified_site_equal_a_dense_float64_computation_of_the_masked_attention(bool fused)
    {
        var c = new InterventionCase();
        var seam = new AttentionSeam();
        var sparse = new SparseAttention(new BottomKSparsifier(0.5));
        using var attached = seam.Attach(sparse);
        using var probes = Probes(seam, fused);
        var result = Attend(seam, c);
        var reference = c.Reference();
        Fixtures.AssertClose(result, reference.Attend(ReferenceRules.BottomK(0.5)), 1e-12, "bottom_k output", output);
        using var results = probes.Results();
        Assert.Empty(results.Unavailable);
        AssertStatistics(results, c.Site.Name, reference.Probabilities(ReferenceRules.BottomK(0.5)), 1e-6, $"bottom_k, fused {fused}");
        Assert.Equal(reference.Kept / reference.Valid, sparse.Density.Of(c.Site.Name), 12);
    }

    [Fact]
    public void Probes_read_the_key_blocks_of_the_gathered_block_sparse_kernel()
    {
        var c = new InterventionCase();
        var seam = new AttentionSeam();
        var sparse = new BlockTopKAttention(new BlockTopKSelection(8, 16, 0.6));
        using var attached = seam.Attach(sparse);
        using var probes = Probes(seam, fused: false);
        var result = seam.Attend(c.Site, c.Q, c.K, c.V, c.Layout, c.Layout, null, c.Scale);
        Assert.Equal((1, 0), (sparse.GatheredCalls, sparse.MaskedCalls));
        var reference = DenseReference.Of(c.Q, c.K, c.V, c.Scale, (_, _) => true);
        var rule = ReferenceRules.BlockTopK(c.Q, c.K, c.Scale, 8, 0.6, queryBlockSize: 16);
        Fixtures.AssertClose(result, reference.Attend(rule), 1e-12, "block_topk output", output);
        using var results = probes.Results();
        AssertStatistics(results, c.Site.Name, reference.Probabilities(rule), 1e-6, "block_topk");
    }

    [Fact]
    public void Without_a_fallback_the_fused_probe_reports_a_selection_it_cannot_read_and_warns_once()
    {
        var c = new InterventionCase();
        var seam = new AttentionSeam();
        var warnings = new List<string>();
        using var attached = seam.Attach(new SparseAttention(new BottomKSparsifier(0.5)));
        using var fused = new FusedAttentionSummary { Warn = warnings.Add };
        using var probe = seam.Attach(fused);
        Attend(seam, c);
        Attend(seam, c);
        using var results = fused.Results();
        Assert.Empty(results);
        var key = new ProbeKey(new ProbeGroup(c.Site.Name), "received_mass");
        Assert.Contains("bottom_k", results.Unavailable[key]);
        Assert.Single(warnings);
        Assert.Contains("bottom_k", Assert.Throws<KeyNotFoundException>(() => results[key.ToString()]).Message);
    }

    [Fact]
    public void Probes_read_temperature_whether_it_changes_the_scale_or_the_queries_of_some_heads()
    {
        var c = new InterventionCase();
        foreach (var (temperature, q) in new[]
                 {
                     (new Temperature(2.0), c.Q / 2.0),
                     (new Temperature(0.5, new AttentionSelector { Heads = new long[] { 1 } }), c.Q * torch.tensor(new[] { 1.0, 2.0, 1.0 }, dtype: ScalarType.Float64).view(1, 3, 1, 1)),
                 })
        {
            var seam = new AttentionSeam();
            using var attached = seam.Attach(temperature);
            using var probes = Probes(seam, fused: true);
            Attend(seam, c);
            using var results = probes.Results();
            var p = DenseReference.Of(q, c.K, c.V, c.Scale, InterventionCase.IsValid).Probabilities((_, _, _, row, _) => row.Select(_ => true).ToArray());
            AssertStatistics(results, c.Site.Name, p, 1e-6, $"temperature {string.Join(",", temperature.Taus)}");
        }
    }

    /// <summary>Two cases' rows as one batch: [cond rows of <paramref name="cond"/>, uncond rows of <paramref name="uncond"/>].</summary>
    private static (Tensor Q, Tensor K, Tensor V, Tensor Mask, TokenLayout Layout) Batched(InterventionCase cond, InterventionCase uncond) =>
        (torch.cat(new[] { cond.Q, uncond.Q }), torch.cat(new[] { cond.K, uncond.K }), torch.cat(new[] { cond.V, uncond.V }),
         torch.cat(new[] { cond.Mask, uncond.Mask }), cond.Layout with { Valid = torch.cat(new[] { cond.Layout.Valid!, uncond.Layout.Valid! }) });

    /// <summary>The same guidance step run batched (one call, branch "cfg") or split (a cond call, then an uncond call); output [cond rows, uncond rows].</summary>
    private static Tensor Guided(AttentionSeam seam, bool batched, InterventionCase cond, InterventionCase uncond)
    {
        seam.State.Step = 3;
        if (batched)
        {
            var (q, k, v, mask, layout) = Batched(cond, uncond);
            seam.State.Branch = "cfg";
            seam.State.Batch = BatchLayout.Guided((int)InterventionCase.Batch);
            return seam.Attend(cond.Site, q, k, v, layout, layout, mask, cond.Scale);
        }
        var outputs = new List<Tensor>();
        foreach (var (branch, c) in new[] { ("cond", cond), ("uncond", uncond) })
        {
            seam.State.Branch = branch;
            seam.State.Batch = BatchLayout.Uniform(branch, (int)InterventionCase.Batch);
            outputs.Add(seam.Attend(c.Site, c.Q, c.K, c.V, c.Layout, c.Layout, c.Mask, c.Scale));
        }
        return torch.cat(outputs.ToArray());
    }

    private static IAttentionIntervention Build(string kind, AttentionSelector scope) => kind switch
    {
        "temperature" => new Temperature(2.0, scope),
        "temperature_heads" => new Temperature(new[] { 0.5, 3.0 }, scope with { Heads = new long[] { 2, 0 } }),
        "head_ablation" => new HeadAblation(scope with { Heads = new long[] { 1 } }),
        "sink_mask" => new SinkAblation(new SinkPositions { Global = new long[] { 0, 9 } }, SinkAblationMode.Mask, scope),
        "sink_zero" => new SinkAblation(new SinkPositions { Global = new long[] { 0, 9 } }, SinkAblationMode.ZeroValues, scope),
        "bottom_k" => new SparseAttention(new BottomKSparsifier(0.5), scope),
        "bottom_k_heads" => new SparseAttention(new BottomKSparsifier(0.7), scope with { Heads = new long[] { 1 } }),
        "top_k" => new SparseAttention(new TopKSparsifier(6), scope),
        "block_topk" => new BlockTopKAttention(new BlockTopKSelection(8, 16, 0.6), scope),
        "block_topk_sinks" => new BlockTopKAttention(new BlockTopKSelection(8, 16, 0.6), scope, keepSinks: new long[] { 0 }),
        _ => throw new ArgumentException(kind),
    };

    public static TheoryData<string, string> KindsAndBranches()
    {
        var data = new TheoryData<string, string>();
        foreach (var kind in new[] { "temperature", "temperature_heads", "head_ablation", "sink_mask", "sink_zero", "bottom_k", "bottom_k_heads", "top_k", "block_topk", "block_topk_sinks" })
            foreach (var branches in new[] { "cond", "uncond", "cond,uncond" })
                data.Add(kind, branches);
        return data;
    }

    [Theory]
    [MemberData(nameof(KindsAndBranches))]
    public void An_intervention_scoped_to_branches_changes_only_their_rows_batched_or_split(string kind, string branches)
    {
        var (cond, uncond) = (new InterventionCase(seed: 7), new InterventionCase(seed: 8));
        var scope = new AttentionSelector { Branches = branches.Split(',') };
        var outputs = new Dictionary<bool, Tensor>();
        foreach (bool batched in new[] { true, false })
        {
            var seam = new AttentionSeam();
            using var attached = seam.Attach(Build(kind, scope));
            outputs[batched] = Guided(seam, batched, cond, uncond);
        }
        // expected: each branch's rows as the intervention (unscoped) computes them alone, or dense when out of scope
        Tensor Expected(InterventionCase c, string branch) =>
            scope.Branches.Contains(branch) ? c.Run(Build(kind, AttentionSelector.All)) : c.Dense();
        var expected = torch.cat(new[] { Expected(cond, "cond"), Expected(uncond, "uncond") });
        double split = Fixtures.RelativeL2(outputs[false], expected), batchedError = Fixtures.RelativeL2(outputs[true], expected);
        output.WriteLine($"{kind} on {branches}: split {split:E2}, batched {batchedError:E2} from the per-branch expectation");
        Assert.True(split <= 1e-12 && batchedError <= 1e-12, $"{kind}: split {split:E2}, batched {batchedError:E2}");
        Assert.False(outputs[true].eq(torch.cat(new[] { cond.Dense(), uncond.Dense() })).all().item<bool>(), "the intervention changed nothing");
    }

    public static TheoryData<string, ProbeGrouping, bool, string?> ProbeCases()
    {
        var data = new TheoryData<string, ProbeGrouping, bool, string?>();
        foreach (var branches in new[] { "cond", "uncond", "" })
            foreach (var grouping in new[] { ProbeGrouping.Site, ProbeGrouping.Branch | ProbeGrouping.Step })
                foreach (bool fused in new[] { true, false })
                    foreach (var kind in new[] { null, "bottom_k" })
                        data.Add(branches, grouping, fused, kind);
        foreach (var kind in new[] { "block_topk", "temperature_heads", "sink_mask" })
        {
            data.Add("cond", ProbeGrouping.Branch, true, kind);
            data.Add("", ProbeGrouping.Site, false, kind);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(ProbeCases))]
    public void Batched_and_split_guidance_give_the_same_probe_results(string branches, ProbeGrouping grouping, bool fused, string? kind)
    {
        var (cond, uncond) = (new InterventionCase(seed: 7), new InterventionCase(seed: 8));
        var filter = new AttentionSelector { Branches = branches.Length == 0 ? Array.Empty<string>() : branches.Split(',') };
        var results = new Dictionary<bool, ProbeResults>();
        foreach (bool batched in new[] { true, false })
        {
            var seam = new AttentionSeam();
            using var attached = kind is null ? null : seam.Attach(Build(kind, new AttentionSelector { Branches = new[] { "cond" } }));
            using var probes = Probes(seam, fused, filter, grouping);
            Guided(seam, batched, cond, uncond);
            results[batched] = probes.Results();
        }
        using var a = results[true];
        using var b = results[false];
        Assert.Equal(b.Keys.Select(k => k.ToString()).Order(), a.Keys.Select(k => k.ToString()).Order());
        Assert.NotEmpty(a);
        double worst = 0;
        foreach (var (key, value) in b)
        {
            Assert.Equal(value.shape, a[key].shape);
            if (key.Statistic != "row_queries") Assert.Equal(InterventionCase.Batch, value.shape[0]); // rows of one branch: the prompts
            worst = Math.Max(worst, Fixtures.RelativeL2(a[key], value));
        }
        output.WriteLine($"branches [{branches}], {grouping}, fused {fused}, {kind ?? "no intervention"}: {a.Count} results, worst relative L2 {worst:E2}");
        Assert.True(worst <= 1e-6, $"worst relative L2 {worst:E2}");
    }

    [Theory]
    [InlineData("temperature_1")]
    [InlineData("bottom_k_0")]
    [InlineData("block_topk_dense")]
    [InlineData("pass_through")]
    public void An_identity_intervention_leaves_the_output_and_every_probe_result_unchanged(string kind)
    {
        var c = new InterventionCase();
        IAttentionIntervention? Identity() => kind switch
        {
            "temperature_1" => new Temperature(1.0),
            "bottom_k_0" => new SparseAttention(new BottomKSparsifier(0.0)),
            "block_topk_dense" => new BlockTopKAttention(new BlockTopKSelection(8, 16, 0.0)),
            "pass_through" => null,
            _ => throw new ArgumentException(kind),
        };
        var results = new List<ProbeResults>();
        var outputs = new List<Tensor>();
        foreach (bool on in new[] { false, true })
        {
            var seam = new AttentionSeam();
            using var attached = !on ? null : Identity() is { } i ? seam.Attach(i) : seam.Intercept(AttentionSelector.All, (call, q, k, v, next) => next(call, q, k, v));
            using var probes = Probes(seam, fused: true);
            outputs.Add(Attend(seam, c));
            results.Add(probes.Results());
        }
        Fixtures.AssertClose(outputs[1], outputs[0], 1e-12, $"{kind} output", output);
        Assert.Equal(results[0].Keys.Select(k => k.ToString()).Order(), results[1].Keys.Select(k => k.ToString()).Order());
        foreach (var (key, value) in results[0])
            Fixtures.AssertClose(results[1][key], value, 1e-6, $"{kind} {key}");
        foreach (var r in results) r.Dispose();
    }

    [Fact]
    public void Nested_selections_on_rows_and_heads_compose_in_the_kernel_and_in_the_probes()
    {
        var (cond, uncond) = (new InterventionCase(seed: 7), new InterventionCase(seed: 8));
        var seam = new AttentionSeam();
        using var outer = seam.Attach(new SparseAttention(new BottomKSparsifier(0.3), new AttentionSelector { Branches = new[] { "cond" } }));
        using var inner = seam.Attach(new SparseAttention(new TopKSparsifier(12), new AttentionSelector { Heads = new long[] { 1 } }));
        using var probe = new AttentionMapProbe(new IAttentionStatistic[] { new ReceivedMass() }, grouping: ProbeGrouping.Branch);
        using var attached = seam.Attach(probe);
        var result = Guided(seam, batched: true, cond, uncond);

        var (q, k, v, _, _) = Batched(cond, uncond);
        var reference = DenseReference.Of(q, k, v, cond.Scale, (b, j) => InterventionCase.IsValid(b % 2, j));
        var bottom = ReferenceRules.BottomK(0.3);
        var top = ReferenceRules.TopK(12);
        DenseReference.KeepRule both = (b, h, i, p, valid) =>
        {
            var first = b < InterventionCase.Batch ? bottom(b, h, i, p, valid) : valid.Select(_ => true).ToArray();
            if (h != 1) return first;
            var remaining = first.Select((x, j) => x && valid[j]).ToArray();
            double mass = p.Where((_, j) => remaining[j]).Sum();
            var renormalised = p.Select((x, j) => remaining[j] ? x / mass : 0.0).ToArray();
            var second = top(b, h, i, renormalised, remaining);
            return first.Select((x, j) => x && second[j]).ToArray();
        };
        Fixtures.AssertClose(result, reference.Attend(both), 1e-12, "nested output", output);
        var p = reference.Probabilities(both);
        using var results = probe.Results();
        foreach (var (branch, rows) in new[] { ("cond", 0), ("uncond", (int)InterventionCase.Batch) })
        {
            var expected = ProbeReference.FromArray(ProbeReference.ReceivedMass(p)).narrow(0, rows, InterventionCase.Batch);
            Fixtures.AssertClose(results[$"{cond.Site.Name}.{branch}.received_mass"], expected, 1e-6, $"nested {branch} received mass", output);
        }
    }

    [Fact]
    public void Disposing_a_probe_set_detaches_it_and_its_results_stay_usable()
    {
        var c = new InterventionCase();
        var seam = new AttentionSeam();
        ProbeResults results;
        using (var probes = Probes(seam, fused: true))
        {
            Attend(seam, c);
            results = probes.Results();
        }
        Assert.Empty(seam.Probes);
        using (results)
            Assert.True(results[$"{c.Site.Name}.received_mass"].isfinite().all().item<bool>());
    }
}
