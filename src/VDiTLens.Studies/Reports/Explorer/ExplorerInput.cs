using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Reports.Explorer;

/// <summary>
/// What the explorer is written from: the captured results, the sites in model order, what each batch row is
/// (prompt and guidance branch), the patch grid, the captured query positions and the generated video
/// [B, frames, height, width, 3] in [0, 1].
/// </summary>
public sealed record ExplorerInput(
    IReadOnlyDictionary<string, Tensor> Results,
    IReadOnlyList<int> Steps,
    IReadOnlyList<string> Sites,
    IReadOnlyList<string> Prompts,
    IReadOnlyList<(int Prompt, string Branch)> BatchRows,
    VideoGrid Grid,
    IReadOnlyList<long> Queries,
    Tensor Video,
    int TotalSteps,
    ExplorerOptions Options);
