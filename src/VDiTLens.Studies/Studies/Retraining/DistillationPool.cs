using TorchSharp;
using VDiTLens.IO;
using VDiTLens.Pipelines;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Retraining;

/// <summary>
/// The teacher's own generations over the timestep range: every step input x_t of generations from the pool's
/// prompts and seeds, with its timestep, the text it was denoised with (cond, and uncond where the pipeline runs an
/// unconditional branch) and the generation's final latents (the teacher's sample, the data of the flow-matching
/// target). Latents are in the pipeline's own layout. Kept on the CPU; saved and reloaded so a resumed run trains on
/// the same pool.
/// </summary>
public sealed class DistillationPool : IDisposable
{
    public const string FileName = "pool.safetensors";

    /// <summary>[E, …] float32: the step inputs, one latent each (the batch axis dropped).</summary>
    public Tensor Latents { get; }
    /// <summary>[E] float32: the timestep each was denoised at.</summary>
    public Tensor Timesteps { get; }
    /// <summary>[E] int64: which text each entry uses.</summary>
    public Tensor TextIndex { get; }
    /// <summary>[E] int64: which generation's final latents each entry belongs to.</summary>
    public Tensor SampleIndex { get; }
    /// <summary>[S, …] float32: the final latents of each generation.</summary>
    public Tensor Samples { get; }
    /// <summary>[T, L, D] float32: the distinct text embeddings; <see cref="TextMasks"/> [T, L] and <see cref="Pooled"/> [T, P] where the family takes them.</summary>
    public Tensor Texts { get; }
    public Tensor? TextMasks { get; }
    public Tensor? Pooled { get; }

    public long Count => Latents.shape[0];

    private DistillationPool(IReadOnlyDictionary<string, Tensor> t)
    {
        Latents = t["latents"];
        Timesteps = t["timesteps"];
        TextIndex = t["text_index"];
        SampleIndex = t["sample_index"];
        Samples = t["samples"];
        Texts = t["texts"];
        TextMasks = t.GetValueOrDefault("text_masks");
        Pooled = t.GetValueOrDefault("pooled");
    }

    /// <summary>Text <paramref name="index"/> as one branch's conditioning on <paramref name="device"/> in <paramref name="dtype"/>.</summary>
    public TextConditioning Text(long index, Device device, ScalarType dtype) => new(
        Texts[index].unsqueeze(0).to(dtype, device),
        TextMasks?[index].unsqueeze(0).to(device),
        Pooled?[index].unsqueeze(0).to(dtype, device));

    public static DistillationPool Generate(ITextToVideoPipeline teacher, RetrainOptions o, IProgress<(int Done, int Total)>? progress = null)
    {
        using var _ = torch.no_grad();
        var latents = new List<Tensor>();
        var timesteps = new List<float>();
        var textIndex = new List<long>();
        var sampleIndex = new List<long>();
        var samples = new List<Tensor>();
        var texts = new List<TextConditioning>();
        bool unconditional = false;
        int total = o.Prompts.Count * o.PoolSeeds, done = 0;
        try
        {
            for (int p = 0; p < o.Prompts.Count; p++)
            {
                texts.Add(teacher.EncodeText(new[] { o.Prompts[p] }, o.MaxSequenceLength));
                long condIndex = texts.Count - 1;
                for (int s = 0; s < o.PoolSeeds; s++)
                {
                    progress?.Report((done++, total));
                    var request = new GenerationRequest
                    {
                        Prompts = new[] { o.Prompts[p] }, Seed = o.Seed * 1000 + s, Steps = o.GenerationSteps, GuidanceScale = o.GuidanceScale,
                        Frames = o.Frames, Height = o.Height, Width = o.Width, MaxSequenceLength = o.MaxSequenceLength, Image = o.Image, BatchGuidance = false,
                    };
                    var input = Cpu(teacher.InitialLatents(request));
                    long sample = samples.Count;
                    using var final = teacher.Denoise(request with
                    {
                        OnStep = info =>
                        {
                            latents.Add(input);
                            timesteps.Add((float)info.Timestep);
                            textIndex.Add(condIndex);
                            sampleIndex.Add(sample);
                            unconditional |= info.UnconditionalPrediction is not null;
                            input = Cpu(info.Latents.alias());
                        },
                    });
                    input.Dispose();
                    samples.Add(Cpu(final.alias()));
                }
            }
            progress?.Report((total, total));
            int entries = latents.Count;
            var t = new Dictionary<string, Tensor>
            {
                ["latents"] = torch.cat(latents, 0),
                ["timesteps"] = torch.tensor(timesteps.ToArray()),
                ["text_index"] = torch.tensor(textIndex.ToArray()),
                ["sample_index"] = torch.tensor(sampleIndex.ToArray()),
                ["samples"] = torch.cat(samples, 0),
            };
            // Where the teacher also saw every x_t with the empty prompt, those calls are entries too.
            if (unconditional)
            {
                texts.Add(teacher.EncodeText(new[] { "" }, o.MaxSequenceLength));
                foreach (var key in new[] { "latents", "timesteps", "sample_index" })
                    t[key] = torch.cat(new[] { t[key], t[key] }, 0);
                t["text_index"] = torch.cat(new[] { t["text_index"], torch.full(entries, texts.Count - 1L, dtype: ScalarType.Int64) }, 0);
            }
            t["texts"] = torch.cat(texts.Select(x => Cpu(x.Embeds.alias())).ToArray(), 0);
            if (texts[0].Mask is not null) t["text_masks"] = torch.cat(texts.Select(x => x.Mask!.cpu()).ToArray(), 0);
            if (texts[0].Pooled is not null) t["pooled"] = torch.cat(texts.Select(x => Cpu(x.Pooled!.alias())).ToArray(), 0);
            return new DistillationPool(t);
        }
        finally
        {
            foreach (var l in latents.Concat(samples)) l.Dispose();
            foreach (var x in texts) x.Dispose();
        }
    }

    private static Tensor Cpu(Tensor t)
    {
        using (t) return t.detach().to(ScalarType.Float32).cpu().clone();
    }

    public void Save(string folder)
    {
        string path = Path.Combine(folder, FileName), tmp = path + ".tmp";
        var t = new Dictionary<string, Tensor>
        {
            ["latents"] = Latents, ["timesteps"] = Timesteps, ["text_index"] = TextIndex, ["sample_index"] = SampleIndex,
            ["samples"] = Samples, ["texts"] = Texts,
        };
        if (TextMasks is not null) t["text_masks"] = TextMasks;
        if (Pooled is not null) t["pooled"] = Pooled;
        SafeTensorsWriter.Save(tmp, t);
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>The pool saved in <paramref name="folder"/>, or null when there is none (or one from an older version without the samples).</summary>
    public static DistillationPool? TryLoad(string folder)
    {
        string path = Path.Combine(folder, FileName);
        if (!File.Exists(path)) return null;
        using var file = SafeTensorsFile.Open(path);
        var t = file.LoadAll(torch.CPU);
        if (t.ContainsKey("samples") && t.ContainsKey("sample_index")) return new DistillationPool(t);
        foreach (var x in t.Values) x.Dispose();
        return null;
    }

    public void Dispose()
    {
        foreach (var t in new[] { Latents, Timesteps, TextIndex, SampleIndex, Samples, Texts, TextMasks, Pooled })
            t?.Dispose();
    }
}
