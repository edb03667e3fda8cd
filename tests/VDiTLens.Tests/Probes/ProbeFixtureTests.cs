using TorchSharp;
using VDiTLens.Models.Common;
using VDiTLens.Probes;
using VDiTLens.Runtime;
using VDiTLens.Tests.TestSupport;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Probes;

/// <summary>Probes on a real forward equal statistics computed from diffusers' recorded attention probabilities.</summary>
public sealed class ProbeFixtureTests
{
    [Theory]
    [InlineData(false)] // blockwise rows
    [InlineData(true)]  // fused kernel passes (the default of ProbeSet)
    public void Wan_received_mass_and_frame_map_match_the_recorded_probabilities(bool fused)
    {
        TorchRuntime.Initialise();
        using var model = TransformerLoader.Load(Fixtures.Path("wan_t2v"), new ComputeOptions(torch.CPU, ScalarType.Float32, 0));
        var data = Fixtures.Load("wan_t2v/inputs_outputs.safetensors");
        using var probes = new ProbeSet(model.Seam, new ProbeOptions { Probes = new[] { "mass", "frame" }, Fused = fused, MemoryBudgetBytes = 20_000 });
        using (torch.no_grad())
            model.Forward(data);
        var results = probes.Results();

        var frames = new FrameGrouping();
        var layout = VDiTLens.Attention.TokenLayout.Video(new VDiTLens.Attention.VideoGrid(3, 4, 6));
        var (groups, count) = frames.Assign(layout)!.Value;
        for (int layer = 0; layer < 2; layer++)
        {
            var dense = ProbeReference.ToArray4(data[$"attn.{layer}.self"]);
            Fixtures.AssertClose(results[$"blocks.{layer}.attn1.received_mass"], ProbeReference.FromArray(ProbeReference.ReceivedMass(dense)), 1e-4, $"layer {layer} received mass");
            Fixtures.AssertClose(results[$"blocks.{layer}.attn1.frame_map"], ProbeReference.FromArray(ProbeReference.Pooled(dense, groups, count, groups, count, true)), 1e-4, $"layer {layer} frame map");
            var cross = ProbeReference.ToArray4(data[$"attn.{layer}.cross"]);
            Fixtures.AssertClose(results[$"blocks.{layer}.attn2.received_mass"], ProbeReference.FromArray(ProbeReference.ReceivedMass(cross)), 1e-4, $"layer {layer} cross received mass");
            Assert.False(results.ContainsKey($"blocks.{layer}.attn2.frame_map")); // keys are text: no frame map
        }
    }
}
