using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Probes;
using static TorchSharp.torch;

namespace VDiTLens.Reports.Explorer;

/// <summary>
/// Records, for each site the explorer captures, where its video and text (or image) keys lie (<see cref="ExplorerSite"/>, in the
/// order the sites first run) and, per step and branch as the rows are grouped, which text keys are real
/// (<c>&lt;site&gt;.step{n}.text_valid</c> [rows, text keys], 1 real, 0 padding).
/// </summary>
internal sealed class ExplorerSiteRecorder(AttentionSelector filter, ProbeGrouping grouping, ExplorerOptions options) : IAttentionProbe, IDisposable
{
    private readonly List<ExplorerSite> _sites = new();
    private readonly Dictionary<ProbeGroup, Tensor> _textValid = new();
    private readonly AttentionSelector _headRows = new() { Sites = options.HeadRowSites };

    public IReadOnlyList<ExplorerSite> Sites => _sites;

    public bool Accepts(AttentionCall call) => filter.Accepts(call);

    public void Observe(AttentionCall call, Tensor q, Tensor k, Tensor v, Tensor output)
    {
        var site = _sites.FirstOrDefault(s => s.Name == call.Site.Name) ?? Add(call);
        using var scope = torch.NewDisposeScope();
        foreach (var (group, rows) in grouping.GroupsOf(call, filter, q.shape[0]))
        {
            var valid = call.KeyLayout.Valid is { } mask
                ? mask.narrow(1, site.TextKeyStart, site.TextKeys).to(ScalarType.Float32)
                : torch.ones(q.shape[0], site.TextKeys, dtype: ScalarType.Float32, device: q.device);
            if (rows is not null) valid = valid.index_select(0, torch.tensor(rows, device: valid.device));
            if (_textValid.Remove(group, out var old)) old.Dispose();
            _textValid[group] = valid.cpu().clone().DetachFromDisposeScope();
        }
    }

    private ExplorerSite Add(AttentionCall call)
    {
        // The capture's gate passes calls with video queries, and with video keys unless the site is cross-attention.
        var video = call.KeyLayout.VideoSegment;
        var text = call.KeyLayout.Segments.FirstOrDefault(s => s.Kind == TokenKind.Text);
        bool headRows = options.HeadRowSites is not [ExplorerOptions.NoSites] && _headRows.Accepts(call);
        var site = new ExplorerSite(call.Site.Name, call.Site.Kind, (video ?? call.QueryLayout.VideoSegment!).Grid!, video?.Start ?? 0,
            text?.Start ?? 0, text?.Length ?? 0, options.QueryPositions(call.QueryLayout), headRows, VideoKeys: video is not null,
            ImageKeys: video is null && call.Site.Stream == "image");
        _sites.Add(site);
        return site;
    }

    /// <summary>Copies of the recorded text-key validity (the caller owns them).</summary>
    public ProbeResults Results() => new(_textValid.Select(kv => new ProbeResult(new ProbeKey(kv.Key, "text_valid"), kv.Value.clone(), 1)).ToList());

    public void Dispose()
    {
        foreach (var t in _textValid.Values) t.Dispose();
        _textValid.Clear();
    }
}
