using VDiTLens.Pipelines;
using VDiTLens.Probes;
using VDiTLens.Runtime;
using VDiTLens.Studies.Structure;
using VDiTLens.Tests.TestSupport;
using Xunit.Abstractions;
using VDiTLens.Attention;

namespace VDiTLens.Tests.Studies.Structure;

/// <summary>The lockstep edit on joint text-video attention (CogVideoX, Mochi-1 fixture pipelines).</summary>
public sealed class AttentionEditOnOtherPipelinesTests(ITestOutputHelper output)
{
    private static EditOptions Options(string source, string target, int frames) => new()
    {
        SourcePrompt = source, TargetPrompt = target, Seed = 3, Steps = 2, Guidance = 3.0,
        Frames = frames, Height = 32, Width = 32, MaxSequenceLength = 8,
    };

    [Theory]
    [InlineData("cogvideox_pipeline", 9)]
    [InlineData("mochi_pipeline", 7)]
    public void Transfer_with_the_source_prompt_as_target_reproduces_the_source(string fixture, int frames)
    {
        TorchRuntime.Initialise();
        using var pipeline = TextToVideoPipelines.Load(Fixtures.Path(fixture, "pipeline"), ComputeOptions.Cpu32);
        using var edit = AttentionEdit.Run(pipeline, Options("a red ball", "a red ball", frames) with { Sites = new[] { "joint" } });
        double rows = (edit.Edited - edit.Source).abs().max().item<float>();
        output.WriteLine($"{fixture}: max |edited row − source row| = {rows:E2}");
        Assert.True(rows <= 1e-6, $"edited row differs from the source row by {rows:E2}");
    }

    [Theory]
    [InlineData("cogvideox_pipeline", 9)]
    [InlineData("mochi_pipeline", 7)]
    public void With_every_joint_site_and_its_text_tokens_transferred_the_edited_rows_see_the_source_maps(string fixture, int frames)
    {
        // Prompts of different token counts: Mochi's per-sample text masks differ, so the edited rows must also take
        // the source's mask to see exactly the source's map. (By default only the video tokens' q and k move, so the
        // video rows also read the target's own text keys: MapTransferTests pins that against a dense reference.)
        TorchRuntime.Initialise();
        using var pipeline = TextToVideoPipelines.Load(Fixtures.Path(fixture, "pipeline"), ComputeOptions.Cpu32);
        var probe = new AttentionMapProbe(new[] { PooledMap.Frames(), PooledMap.Modalities() }, new AttentionSelector { Sites = new[] { "joint" } },
            ProbeGrouping.Step | ProbeGrouping.Branch);
        using (pipeline.Seam.Attach(probe))
            AttentionEdit.Run(pipeline, Options("a red ball", "two astronauts float inside a station", frames) with { Sites = new[] { "joint" }, TransferText = true }).Dispose();
        var results = probe.Results().ToList();
        Assert.Equal(2 * 2 * 2 * 2, results.Count); // 2 sites × 2 steps × 2 branches × (frame, modality) maps
        foreach (var (key, map) in results)
            foreach (var (src, tgt, edit) in new[] { (0L, 1L, 2L) })
            {
                double same = (map[edit] - map[src]).abs().max().item<float>();
                double plain = (map[tgt] - map[src]).abs().max().item<float>();
                output.WriteLine($"{fixture} {key} rows {src},{tgt},{edit}: edited vs source {same:E2}, plain target vs source {plain:E2}");
                Assert.True(same <= 1e-6, $"{key}: edited row's map differs from the source's by {same:E2}");
                // cond rows differ in their prompts (the uncond rows share the negative prompt, so their maps agree anyway)
                if (key.Branch == "cond" && key.Statistic == "modality_map") Assert.True(plain > 1e-4, $"{key}: the plain target's map should differ from the source's ({plain:E2})");
            }
    }
}
