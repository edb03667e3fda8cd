using VDiTLens.Attention;
using VDiTLens.Interventions.Sparsity;
using VDiTLens.Pipelines;
using VDiTLens.Probes;
using VDiTLens.Runtime;
using static TorchSharp.torch;

string folder = args.Length > 0 ? args[0] : "models/vditlens-tiny";    // any diffusers WanPipeline folder
using var pipe = WanPipeline.Load(folder, ComputeOptions.Parse("auto", "float32", seed: 0));

// received mass on every self-attention site, conditional rows only
using var probes = new ProbeSet(pipe.Seam, new ProbeOptions
{
    Probes = ["mass"],
    Filter = new AttentionSelector { Sites = ["self"], Branches = ["cond"] },
});
// bottom-k at 50 % on the self-attention of layers 2 and 3
using var sparse = pipe.Seam.Attach(new SparseAttention(new BottomKSparsifier(0.5),
    new AttentionSelector { Sites = ["self"], Layers = 2..4 }));

using var video = pipe.Generate(new GenerationRequest
{
    Prompts = ["a red circle moving right"], Steps = 20, Height = 32, Width = 32, Frames = 9, MaxSequenceLength = 16,
});
using var results = probes.Results();
foreach (var (key, mass) in results.Of("received_mass"))      // typed keys: site, run, step, branch, statistic
    Console.WriteLine($"{key.Site}: top key receives {mass.max().item<float>():P1} of the attention");  // mass: [1, H, Lk]
Console.WriteLine($"video {string.Join("×", video.shape)}");
