using VDiTLens.Interventions;

namespace VDiTLens.Studies.TextAblation;

/// <summary>
/// Keep one text token (<see cref="Keep"/>, counted from the first text key) in the text-attending calls of
/// <see cref="Sites"/>, mask or zero the rest, on both guidance branches; compare with the unablated run and with
/// keeping one other real token of the prompt, drawn at random per (prompt, seed), as the control.
/// </summary>
public sealed record TextAblationOptions
{
    public IReadOnlyList<string> Prompts { get; init; } = Array.Empty<string>();
    public IReadOnlyList<long> Seeds { get; init; } = new long[] { 0, 1 };
    public long Keep { get; init; }
    public TextKeepMode Mode { get; init; } = TextKeepMode.Mask;
    /// <summary>Site patterns (names, prefixes ending in '*', kinds); calls without text keys are never changed.</summary>
    public IReadOnlyList<string> Sites { get; init; } = new[] { "cross", "joint" };

    public void Validate()
    {
        if (Prompts.Count == 0) throw new VDiTLensException("text ablation needs at least one prompt");
        if (Seeds.Count == 0) throw new VDiTLensException("text ablation needs at least one seed");
        if (Keep < 0) throw new VDiTLensException($"text ablation keep index {Keep}: must be ≥ 0");
    }
}

/// <summary>
/// One (prompt, seed, arm) of the text ablation: the kept token, the output change against the unablated run, and
/// (for every arm) the unablated run's share of text attention on the kept token (mean over heads and sites of the
/// received mass of that text key ÷ that of all text keys) and the share of (site, head) pairs whose largest text
/// receiver it is.
/// </summary>
public sealed record TextAblationRow(string Prompt, long Seed, string Arm, long KeptToken, int RealTokens,
    double LatentRelativeL2, double PsnrDb, double KeptTokenShare, double KeptTokenTopFraction);
