using VDiTLens.Studies.Sinks;

namespace VDiTLens.Training.LanguageModel;

/// <summary>The tiny LM's languages by name, and the batches every run draws from them.</summary>
public static class TokenLanguages
{
    /// <summary>The language <c>train-tiny-lm</c> uses unless told otherwise: the one with an emergent first-token sink.</summary>
    public static ITokenLanguage Default => BigramBackcopyLanguage.Instance;

    public static IReadOnlyList<ITokenLanguage> All { get; } = new ITokenLanguage[] { BigramBackcopyLanguage.Instance, TokenLanguage.Instance };

    public static ITokenLanguage Of(string name) =>
        All.FirstOrDefault(l => l.Name == name)
        ?? throw new VDiTLensException($"Language \"{name}\": not a tiny-LM language (use one of {string.Join(", ", All.Select(l => l.Name))})");

    /// <summary>The language a tiny-LM folder was trained on, from its <c>training.json</c> (written by <see cref="TinyLmTrainer"/>).</summary>
    public static ITokenLanguage OfFolder(string folder)
    {
        string file = Path.Combine(folder, "training.json");
        if (!File.Exists(file)) throw new VDiTLensException($"{file}: not found; its language is only known for a folder written by train-tiny-lm");
        var name = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(file))?["options"]?["Language"]?.GetValue<string>()
            ?? throw new VDiTLensException($"{file}: options.Language missing (retrain with train-tiny-lm --language NAME)");
        return Of(name);
    }

    /// <summary>The batch of a training step: [rows, length] ids and the answer mask, from (seed, step) alone.</summary>
    public static (long[] Ids, bool[] Answer) Batch(ITokenLanguage language, long seed, long step, int rows, int length)
    {
        var ids = new long[rows * length];
        var answer = new bool[rows * length];
        for (int r = 0; r < rows; r++)
        {
            var (i, a) = language.Sample(new Random(StableSeed.Of(seed, step, r)), length);
            i.CopyTo(ids, r * length);
            a.CopyTo(answer, r * length);
        }
        return (ids, answer);
    }

    /// <summary>[rows, length] int64 ids of held-out sequences (step −2 of <paramref name="seed"/>, never a training step), e.g. to probe a trained model.</summary>
    public static TorchSharp.torch.Tensor Ids(ITokenLanguage language, long seed, int rows, int length) =>
        TorchSharp.torch.tensor(Batch(language, seed, -2, rows, length).Ids, new long[] { rows, length });

    /// <summary>A sequence as text, tokens separated by spaces.</summary>
    public static string Describe(ITokenLanguage language, IEnumerable<long> ids) =>
        string.Join(" ", ids.Select(i => i >= 0 && i < language.Tokens.Count ? language.Tokens[(int)i] : $"<{i}>"));
}
