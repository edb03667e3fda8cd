using System.Text.Json.Nodes;
using VDiTLens.Schedulers;
using VDiTLens.Tests.TestSupport;

namespace VDiTLens.Tests.Schedulers;

/// <summary>
/// The spacings the fixtures (trailing only) do not cover, against values worked out by hand from numpy's definitions:
/// linspace(0, 999, N).round()[::-1]; arange(0, N) * (1000 // N) + steps_offset, reversed; round(arange(1000, 0, -1000/N)) - 1.
/// </summary>
public sealed class CogVideoXTimestepSpacingTests
{
    [Theory]
    [InlineData("linspace", 0, 4, new long[] { 999, 666, 333, 0 })]
    [InlineData("linspace", 0, 6, new long[] { 999, 799, 599, 400, 200, 0 })]
    [InlineData("leading", 0, 4, new long[] { 750, 500, 250, 0 })]
    [InlineData("leading", 1, 3, new long[] { 667, 334, 1 })]
    [InlineData("trailing", 0, 3, new long[] { 999, 666, 332 })]
    [InlineData("trailing", 0, 7, new long[] { 999, 856, 713, 570, 428, 285, 142 })]
    public void Spacing_gives_diffusers_timesteps(string spacing, int stepsOffset, int n, long[] expected)
    {
        var config = JsonNode.Parse(File.ReadAllText(Fixtures.Path("schedulers", "cogvideox_ddim", "scheduler_config.json")))!.AsObject();
        config["timestep_spacing"] = spacing;
        config["steps_offset"] = stepsOffset;
        var scheduler = new CogVideoXDDIMScheduler(CogVideoXSchedulerConfig.Read(new VDiTLens.Models.Common.ConfigReader(config, "test")));
        scheduler.SetTimesteps(n);
        Assert.Equal(expected, scheduler.Timesteps.data<long>().ToArray());
    }
}
