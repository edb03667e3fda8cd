using System.Globalization;
using System.Text;
using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Interventions;
using VDiTLens.Metrics;
using VDiTLens.Pipelines;
using VDiTLens.Probes;
using static TorchSharp.torch;

namespace VDiTLens.Studies.TextAblation;

/// <summary>
/// Per prompt and seed: the unablated generation with the received mass of its text keys measured (conditional branch,
/// exact blockwise rows), the generation keeping only <see cref="TextAblationOptions.Keep"/>, and the control keeping
/// one other real prompt token; output change as latent relative L2 and PSNR of the decoded videos.
/// </summary>
public static class TextAblationStudy
{
    public const string Folder = "text-ablation";

    /// <summary>Transformer forwards: three generations per (prompt, seed).</summary>
    public static int Forwards(GenerationRequest template, TextAblationOptions o) =>
        3 * o.Prompts.Count * o.Seeds.Count * template.Steps * (template.GuidanceScale > 1 ? 2 : 1);

    public static IReadOnlyList<TextAblationRow> Run(ITextToVideoPipeline pipeline, GenerationRequest template, TextAblationOptions o,
        IProgress<(int Done, int Total)>? progress = null)
    {
        o.Validate();
        var rows = new List<TextAblationRow>();
        int total = o.Prompts.Count * o.Seeds.Count * 3, done = 0;
        for (int p = 0; p < o.Prompts.Count; p++)
            foreach (long seed in o.Seeds)
            {
                rows.AddRange(Cell(pipeline, template, o, p, seed, progress is null ? null : new Offset(progress, done, total)));
                done += 3;
            }
        progress?.Report((total, total));
        return rows;
    }

    /// <summary>
    /// One (prompt, seed): the unablated run, then the keep and control arms (three generations, reported as done 0…2 of 3);
    /// the control token is drawn from (seed, prompt index) alone, so a cell is the same whichever process computes it.
    /// </summary>
    public static IReadOnlyList<TextAblationRow> Cell(ITextToVideoPipeline pipeline, GenerationRequest template, TextAblationOptions o, int p, long seed,
        IProgress<(int Done, int Total)>? progress = null)
    {
        var scope = new AttentionSelector { Sites = o.Sites };
        int real = RealTokens(pipeline, o.Prompts[p], template.MaxSequenceLength);
        if (o.Keep >= real)
            throw new VDiTLensException($"text ablation keep index {o.Keep}: prompt '{o.Prompts[p]}' has {real} tokens");
        var rows = new List<TextAblationRow>();
        var request = template with { Prompts = new[] { o.Prompts[p] }, Seed = seed, BatchGuidance = false };
        progress?.Report((0, 3));
        var (baseLatents, baseVideo, mass, layouts) = Baseline(pipeline, request, o.Sites);
        try
        {
            var random = new Random(unchecked((int)(seed * 7919 + p)));
            long control = real > 1 ? Enumerable.Range(0, real).Where(i => i != o.Keep).ElementAt(random.Next(real - 1)) : o.Keep;
            int arm = 1;
            foreach (var (name, token) in new[] { ("keep", o.Keep), ("control", control) })
            {
                progress?.Report((arm++, 3));
                using var latents = Ablated(pipeline, request, new TextKeep(new[] { token }, o.Mode, scope));
                using var video = pipeline.DecodeLatents(latents);
                var (share, top) = Share(mass, layouts, token);
                rows.Add(new TextAblationRow(o.Prompts[p], seed, name, token, real,
                    RelativeL2.Of(baseLatents, latents.cpu()), Psnr.MeanOverVideos(baseVideo, video), share, top));
            }
        }
        finally
        {
            baseLatents.Dispose();
            baseVideo.Dispose();
            foreach (var t in mass.Values) t.Dispose();
        }
        return rows;
    }

    /// <summary>A cell's progress (of 3) as the study's (of <paramref name="total"/>).</summary>
    private sealed class Offset(IProgress<(int Done, int Total)> inner, int start, int total) : IProgress<(int Done, int Total)>
    {
        public void Report((int Done, int Total) value) => inner.Report((start + value.Done, total));
    }

    /// <summary>Tokens the tokenizer gives the prompt (the attention mask's ones; EOS included).</summary>
    public static int RealTokens(ITextToVideoPipeline pipeline, string prompt, int maxLength)
    {
        using var tokens = pipeline.Tokenizer.Encode(new[] { Text.PromptCleaner.Clean(prompt) }, maxLength);
        return (int)tokens.AttentionMask.sum().item<long>();
    }

    private static (Tensor Latents, Tensor Video, Dictionary<ProbeGroup, Tensor> Mass, IReadOnlyDictionary<ProbeGroup, TokenLayout> Layouts) Baseline(
        ITextToVideoPipeline pipeline, GenerationRequest request, IReadOnlyList<string> sites)
    {
        var mass = new ReceivedMass();
        var probe = new AttentionMapProbe(new IAttentionStatistic[] { mass }, new AttentionSelector { Sites = sites, Branches = new[] { "cond" } });
        using (pipeline.Seam.Attach(probe))
        {
            using var latents = pipeline.Denoise(request);
            var video = pipeline.DecodeLatents(latents);
            var results = mass.Results().Where(r => r.Value is not null).ToDictionary(r => r.Key.Group, r => r.Value!);
            if (results.Count == 0)
                throw new VDiTLensException($"text ablation sites {string.Join(",", sites)}: no call of {pipeline.ClassName} matched (use cross for Wan, joint for CogVideoX and Mochi)");
            return (latents.cpu().clone(), video, results, mass.Layouts);
        }
    }

    private static Tensor Ablated(ITextToVideoPipeline pipeline, GenerationRequest request, TextKeep keep)
    {
        using (pipeline.Seam.Attach(keep))
            return pipeline.Denoise(request);
    }

    /// <summary>Mean over sites and heads of the kept token's share of the text keys' received mass, and how often it is the top text receiver.</summary>
    private static (double Share, double Top) Share(Dictionary<ProbeGroup, Tensor> mass, IReadOnlyDictionary<ProbeGroup, TokenLayout> layouts, long token)
    {
        double share = 0, top = 0;
        int n = 0;
        foreach (var (site, m) in mass)
        {
            var text = layouts[site].Segments.Where(s => s.Kind == TokenKind.Text).SelectMany(s => Enumerable.Range(0, (int)s.Length).Select(i => s.Start + i)).ToArray();
            if (text.Length == 0 || token >= text.Length) continue;
            using var scope = torch.NewDisposeScope();
            var textMass = m.to(ScalarType.Float64).mean(new long[] { 0 }).index_select(-1, torch.tensor(text)); // [H, T]
            var shares = textMass[.., token] / textMass.sum(-1);
            var isTop = textMass.argmax(-1).eq(token).to(ScalarType.Float64);
            share += shares.sum().item<double>();
            top += isTop.sum().item<double>();
            n += (int)textMass.shape[0];
        }
        return n == 0 ? (double.NaN, double.NaN) : (share / n, top / n);
    }

    public static string Csv(IEnumerable<TextAblationRow> rows)
    {
        var s = new StringBuilder("prompt,seed,arm,kept_token,real_tokens,latent_rel_l2,psnr_db,kept_token_text_share,kept_token_top_fraction\n");
        string F(double v) => v.ToString("G6", CultureInfo.InvariantCulture);
        foreach (var r in rows)
            s.Append($"\"{r.Prompt.Replace("\"", "\"\"")}\",{r.Seed},{r.Arm},{r.KeptToken},{r.RealTokens},{F(r.LatentRelativeL2)},{F(r.PsnrDb)},{F(r.KeptTokenShare)},{F(r.KeptTokenTopFraction)}\n");
        return s.ToString();
    }

    /// <summary>Per arm: n, mean and standard deviation of the latent error and PSNR, mean text share; and how often keep beat its paired control.</summary>
    public static string Summary(IReadOnlyList<TextAblationRow> rows)
    {
        var s = new StringBuilder();
        foreach (var arm in new[] { "keep", "control" })
        {
            var a = rows.Where(r => r.Arm == arm).ToArray();
            if (a.Length == 0) continue;
            s.Append(CultureInfo.InvariantCulture, $"{arm}: n = {a.Length}, latent rel. L2 {Mean(a, r => r.LatentRelativeL2):F3} ± {Sd(a, r => r.LatentRelativeL2):F3}, " +
                $"PSNR {Mean(a, r => r.PsnrDb):F1} ± {Sd(a, r => r.PsnrDb):F1} dB, kept token's share of text attention {Mean(a, r => r.KeptTokenShare):F3}, top text receiver in {Mean(a, r => r.KeptTokenTopFraction):P0} of (site, head)\n");
        }
        var pairs = rows.Where(r => r.Arm == "keep").Select(k => (k, c: rows.First(r => r.Arm == "control" && r.Prompt == k.Prompt && r.Seed == k.Seed))).ToArray();
        if (pairs.Length > 0)
            s.Append(CultureInfo.InvariantCulture, $"keeping token {pairs[0].k.KeptToken} changed the output less than the control in {pairs.Count(x => x.k.LatentRelativeL2 < x.c.LatentRelativeL2)} of {pairs.Length} (prompt, seed) pairs\n");
        return s.ToString();
    }

    private static double Mean(TextAblationRow[] a, Func<TextAblationRow, double> f) => a.Average(f);
    private static double Sd(TextAblationRow[] a, Func<TextAblationRow, double> f)
    {
        if (a.Length < 2) return 0;
        double m = a.Average(f);
        return Math.Sqrt(a.Sum(r => (f(r) - m) * (f(r) - m)) / (a.Length - 1));
    }
}
