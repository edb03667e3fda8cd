using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Reports.Explorer;

/// <summary>
/// What the explorer is written from: the captured results, the captured sites in model order (with their key
/// layouts and query positions), what each batch row is (prompt and guidance branch), the generated video
/// [B, frames, height, width, 3] in [0, 1] and, when the prompts were tokenized (not given as embeddings), each batch
/// row's text token texts, one per text key (<see cref="VDiTLens.Pipelines.ITextToVideoPipeline.TextTokens"/>).
/// </summary>
public sealed record ExplorerInput(
    IReadOnlyDictionary<string, Tensor> Results,
    IReadOnlyList<int> Steps,
    IReadOnlyList<ExplorerSite> Sites,
    IReadOnlyList<string> Prompts,
    IReadOnlyList<(int Prompt, string Branch)> BatchRows,
    Tensor Video,
    int TotalSteps,
    ExplorerOptions Options,
    IReadOnlyList<string[]>? TextTokens = null)
{
    /// <summary>The video grid every captured site shares.</summary>
    public VideoGrid Grid => Sites.Count == 0
        ? throw new VDiTLensException("explorer: no site was captured; check --explorer-sites and --explorer-steps against the model's sites and the run's steps")
        : Sites.Select(s => s.Grid).Distinct().Count() == 1 ? Sites[0].Grid
        : throw new VDiTLensException($"explorer: the captured sites have different video grids ({string.Join(", ", Sites.Select(s => $"{s.Name} {s.Grid}"))}); capture sites of one grid");
}
