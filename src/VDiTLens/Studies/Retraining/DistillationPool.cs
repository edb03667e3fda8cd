using TorchSharp;
using VDiTLens.IO;
using VDiTLens.Pipelines;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Retraining;

/// <summary>
/// The teacher's own noisy latents over the timestep range: every step input x_t of generations from the pool's
/// prompts and seeds, with its timestep and the text embedding it was denoised with (cond, and uncond with guidance).
/// Kept on the CPU; saved and reloaded so a resumed run trains on the same pool.
/// </summary>
public sealed class DistillationPool : IDisposable
{
    public const string FileName = "pool.safetensors";

    /// <summary>[E, C, F, H, W] float32.</summary>
    public Tensor Latents { get; }
    /// <summary>[E] float32.</summary>
    public Tensor Timesteps { get; }
    /// <summary>[T, L, text_dim]: the distinct text embeddings.</summary>
    public Tensor Texts { get; }
    /// <summary>[E] int64: which text each entry uses.</summary>
    public Tensor TextIndex { get; }

    public long Count => Latents.shape[0];

    private DistillationPool(Tensor latents, Tensor timesteps, Tensor texts, Tensor textIndex)
    {
        Latents = latents;
        Timesteps = timesteps;
        Texts = texts;
        TextIndex = textIndex;
    }

    public static DistillationPool Generate(WanPipeline teacher, RetrainOptions o, IProgress<(int Done, int Total)>? progress = null)
    {
        using var _ = torch.no_grad();
        var latents = new List<Tensor>();
        var timesteps = new List<float>();
        var textIndex = new List<long>();
        var texts = new List<Tensor>();
        bool guided = o.GuidanceScale > 1;
        using var uncond = guided ? teacher.EncodePrompts(new[] { "" }, o.MaxSequenceLength) : null;
        int total = o.Prompts.Count * o.PoolSeeds, done = 0;
        for (int p = 0; p < o.Prompts.Count; p++)
        {
            var cond = teacher.EncodePrompts(new[] { o.Prompts[p] }, o.MaxSequenceLength);
            texts.Add(cond.cpu().to(ScalarType.Float32).DetachFromDisposeScope());
            int condIndex = texts.Count - 1;
            cond.Dispose();
            for (int s = 0; s < o.PoolSeeds; s++)
            {
                progress?.Report((done++, total));
                var request = new GenerationRequest
                {
                    Prompts = new[] { o.Prompts[p] }, Seed = o.Seed * 1000 + s, Steps = o.GenerationSteps, GuidanceScale = o.GuidanceScale,
                    Frames = o.Frames, Height = o.Height, Width = o.Width, MaxSequenceLength = o.MaxSequenceLength, BatchGuidance = false,
                };
                var input = teacher.InitialLatents(request).cpu();
                using var final = teacher.Denoise(request with
                {
                    OnStep = info =>
                    {
                        latents.Add(input);
                        timesteps.Add((float)info.Timestep);
                        textIndex.Add(condIndex);
                        input = info.Latents.cpu().clone().DetachFromDisposeScope();
                    },
                });
                input.Dispose();
            }
        }
        progress?.Report((total, total));
        long uncondIndex = texts.Count;
        if (uncond is not null) texts.Add(uncond.cpu().to(ScalarType.Float32));
        // With guidance the teacher also sees every x_t with the empty prompt: add those entries.
        int entries = latents.Count;
        var allLatents = torch.stack(latents);
        var allTimesteps = torch.tensor(timesteps.ToArray());
        var allIndex = torch.tensor(textIndex.ToArray());
        if (uncond is not null)
        {
            allLatents = torch.cat(new[] { allLatents, allLatents }, 0);
            allTimesteps = torch.cat(new[] { allTimesteps, allTimesteps }, 0);
            allIndex = torch.cat(new[] { allIndex, torch.full(entries, uncondIndex, dtype: ScalarType.Int64) }, 0);
        }
        foreach (var l in latents) l.Dispose();
        return new DistillationPool(allLatents.squeeze(1), allTimesteps, torch.stack(texts).squeeze(1), allIndex);
    }

    public void Save(string folder)
    {
        string path = Path.Combine(folder, FileName), tmp = path + ".tmp";
        SafeTensorsWriter.Save(tmp, new Dictionary<string, Tensor> { ["latents"] = Latents, ["timesteps"] = Timesteps, ["texts"] = Texts, ["text_index"] = TextIndex });
        File.Move(tmp, path, overwrite: true);
    }

    public static DistillationPool? TryLoad(string folder)
    {
        string path = Path.Combine(folder, FileName);
        if (!File.Exists(path)) return null;
        using var file = SafeTensorsFile.Open(path);
        var t = file.LoadAll(torch.CPU);
        return new DistillationPool(t["latents"], t["timesteps"], t["texts"], t["text_index"]);
    }

    public void Dispose()
    {
        Latents.Dispose();
        Timesteps.Dispose();
        Texts.Dispose();
        TextIndex.Dispose();
    }
}
