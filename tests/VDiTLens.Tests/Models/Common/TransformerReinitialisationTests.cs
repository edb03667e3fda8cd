using TorchSharp;
using VDiTLens.IO;
using VDiTLens.Models.Common;
using VDiTLens.Runtime;
using VDiTLens.Tests.Pipelines;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Models.Common;

public sealed class TransformerReinitialisationTests : IDisposable
{
    private readonly PixelSpacePipeline _model = new();

    [Fact]
    public void Chosen_parameters_become_those_of_a_fresh_model_built_with_the_seed_and_the_others_stay()
    {
        var options = new ComputeOptions(torch.CPU, ScalarType.Float32, 0);
        var folder = ModelFolder.Open(System.IO.Path.Combine(_model.Path, "transformer"));
        using var loaded = TransformerLoader.Load(folder.Path, options);
        var before = Parameters(loaded).ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        string prefix = "blocks.1.";

        int replaced = TransformerReinitialisation.Apply(loaded, folder, options, seed: 11, new[] { prefix });

        torch.manual_seed(11);
        using var fresh = TransformerLoader.CreateRandom(folder, options);
        var expected = Parameters(fresh);
        var after = Parameters(loaded);
        Assert.Equal(after.Keys.Count(k => k.StartsWith(prefix, StringComparison.Ordinal)), replaced);
        Assert.True(replaced > 0);
        foreach (var (name, p) in after)
        {
            var reference = name.StartsWith(prefix, StringComparison.Ordinal) ? expected[name] : before[name];
            Assert.True(p.allclose(reference, 0, 0), name);
        }
        Assert.Contains(after, kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal) && !kv.Value.allclose(before[kv.Key], 0, 0));
    }

    private static Dictionary<string, Tensor> Parameters(IVideoTransformer model) =>
        ((nn.Module)model).named_parameters().ToDictionary(kv => kv.name, kv => (Tensor)kv.parameter);

    public void Dispose() => _model.Dispose();
}
