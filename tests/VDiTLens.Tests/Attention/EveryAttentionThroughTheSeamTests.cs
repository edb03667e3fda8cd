using System.Reflection;
using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.IO;
using VDiTLens.Models.Common;
using VDiTLens.Models.Mochi.Vae;
using VDiTLens.Models.Wan.Vae;
using VDiTLens.Runtime;
using VDiTLens.Tests.TestSupport;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Attention;

/// <summary>
/// Every attention module of every model computes its attention through the model's seam: no model source calls the
/// attention kernel or a softmax itself, and on the fixture models a counting probe sees every attention module (found
/// by walking the module tree) exactly once per forward.
/// </summary>
public sealed class EveryAttentionThroughTheSeamTests
{
    [Fact]
    public void No_model_source_computes_attention_outside_the_seam()
    {
        var root = Path.Combine(Fixtures.Root, "..", "..", "src", "VDiTLens");
        var offenders = new[] { "Models", "Text" }
            .SelectMany(folder => Directory.EnumerateFiles(Path.Combine(root, folder), "*.cs", SearchOption.AllDirectories))
            .Where(file => File.ReadAllText(file) is var text
                           && (text.Contains("scaled_dot_product_attention") || text.Contains(".softmax(") || text.Contains("AttentionKernels.")))
            .Select(Path.GetFileName).ToList();
        Assert.True(Directory.Exists(Path.Combine(root, "Models")), root);
        Assert.Empty(offenders);
    }

    /// <summary>Module instances that are attention call sites: every module type with an <see cref="AttentionSite"/> property.</summary>
    private static List<AttentionSite> SitesOfModules(nn.Module model) =>
        model.modules().Prepend(model)
            .Select(m => m.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance).FirstOrDefault(p => p.PropertyType == typeof(AttentionSite))?.GetValue(m))
            .OfType<AttentionSite>().ToList();

    private static Dictionary<string, int> Count(AttentionSeam seam, Action run)
    {
        var calls = new Dictionary<string, int>();
        using (seam.Observe(AttentionSelector.All, (call, _, _, _, _) => calls[call.Site.Name] = calls.GetValueOrDefault(call.Site.Name) + 1))
        using (torch.no_grad())
            run();
        return calls;
    }

    [Theory]
    [InlineData("wan_t2v")]
    [InlineData("cogvideox_2b")]
    [InlineData("mochi")]
    [InlineData("hunyuan_video")]
    public void A_transformer_forward_calls_the_seam_once_per_attention_module(string fixture)
    {
        TorchRuntime.Initialise();
        using var model = TransformerLoader.Load(Fixtures.Path(fixture), new ComputeOptions(torch.CPU, ScalarType.Float32, 0));
        var data = Fixtures.Load($"{fixture}/inputs_outputs.safetensors");
        var modules = SitesOfModules((nn.Module)model);
        Assert.NotEmpty(modules);
        Assert.Equal(modules.Select(s => s.Name).Order(), model.Sites.Select(s => s.Name).Order());
        var calls = Count(model.Seam, () => model.Forward(data).Dispose());
        Assert.Equal(modules.ToDictionary(s => s.Name, _ => 1), calls);
    }

    [Fact]
    public void The_mochi_vae_encoder_attention_goes_through_its_seam()
    {
        TorchRuntime.Initialise();
        using var vae = MochiVae.Load(ModelFolder.Open(Fixtures.Path("mochi_vae")), ComputeOptions.Cpu32);
        var data = Fixtures.Load("mochi_vae/inputs_outputs.safetensors");
        var modules = SitesOfModules(vae);
        Assert.NotEmpty(modules);
        Assert.Equal(modules.Select(s => s.Name).Order(), vae.Sites.Select(s => s.Name).Order());
        var calls = Count(vae.Seam, () => vae.Encode(data["video"]));
        Assert.Equal(modules.Select(s => s.Name).Order(), calls.Keys.Order());
        Assert.All(calls.Values, n => Assert.True(n >= 1));
    }

    [Fact]
    public void The_wan_vae_attention_goes_through_its_seam()
    {
        TorchRuntime.Initialise();
        using var vae = WanVae.Load(ModelFolder.Open(Fixtures.Path("wan_vae")), ComputeOptions.Cpu32);
        var data = Fixtures.Load("wan_vae/inputs_outputs.safetensors");
        var modules = SitesOfModules(vae);
        Assert.NotEmpty(modules);
        var calls = Count(vae.Seam, () => vae.Decode(data["z"]).Dispose());
        Assert.Equal(modules.Where(s => s.Name.StartsWith("decoder.", StringComparison.Ordinal)).Select(s => s.Name).Order(), calls.Keys.Order());
    }
}
