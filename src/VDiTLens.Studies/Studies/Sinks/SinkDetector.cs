using TorchSharp;
using VDiTLens.Attention;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Sinks;

/// <summary>Finds sinks in a received-mass result (attention each key receives, averaged over queries).</summary>
public static class SinkDetector
{
    /// <param name="receivedMass">[B, H, Lk] or [H, Lk]; batch rows are averaged.</param>
    public static SiteSinks Detect(Tensor receivedMass, TokenLayout layout, SinkCriteria criteria, AttentionSite site, int step = -1, int run = -1)
    {
        criteria.Validate();
        using var scope = torch.NewDisposeScope();
        var m = receivedMass.detach().cpu().to(ScalarType.Float64);
        if (m.dim() == 3) m = m.mean(new long[] { 0 });
        if (m.dim() != 2) throw new VDiTLensException($"received mass of {site.Name} must be [batch, heads, keys] or [heads, keys]; got [{string.Join(", ", receivedMass.shape)}]");
        int heads = (int)m.shape[0];
        long keys = m.shape[1];
        var mass = m.contiguous().data<double>().ToArray();
        var perHead = new List<HeadSinks>();
        var outlierHeads = new Dictionary<long, List<int>>();
        var maxRatio = new double[keys];
        for (int h = 0; h < heads; h++)
        {
            var row = new ReadOnlySpan<double>(mass, h * (int)keys, (int)keys);
            double mean = 0;
            foreach (double x in row) mean += x;
            mean /= keys;
            long peak = 0;
            double sinkMass = 0;
            var sinks = new List<long>();
            for (long j = 0; j < keys; j++)
            {
                double ratio = mean > 0 ? row[(int)j] / mean : 0;
                maxRatio[j] = Math.Max(maxRatio[j], ratio);
                if (row[(int)j] > row[(int)peak]) peak = j;
                if (ratio >= criteria.RatioThreshold)
                {
                    sinks.Add(j);
                    sinkMass += row[(int)j];
                    if (!outlierHeads.TryGetValue(j, out var list)) outlierHeads[j] = list = new List<int>();
                    list.Add(h);
                }
            }
            perHead.Add(new HeadSinks(h, peak, mean > 0 ? row[(int)peak] / mean : 0, sinkMass, sinks));
        }

        var headMean = new double[keys];
        var epsilonShare = new double[keys];
        for (long j = 0; j < keys; j++)
        {
            int above = 0;
            for (int h = 0; h < heads; h++)
            {
                double x = mass[h * keys + j];
                headMean[j] += x / heads;
                if (x > criteria.Epsilon) above++;
            }
            epsilonShare[j] = (double)above / heads;
        }
        var tokens = Enumerable.Range(0, (int)keys).Select(j => (long)j)
            .Where(j => outlierHeads.ContainsKey(j) || epsilonShare[j] > 0)
            .OrderByDescending(j => headMean[j])
            .Select(j => new SinkToken(j, layout.Describe(j), headMean[j], maxRatio[j],
                outlierHeads.TryGetValue(j, out var hs) ? hs : Array.Empty<int>(), epsilonShare[j]))
            .ToList();
        var topK = Enumerable.Range(0, (int)keys).Select(j => (long)j).OrderByDescending(j => headMean[j]).ThenBy(j => j)
            .Take(criteria.TopK).ToArray();
        return new SiteSinks(site.Name, site.Layer, site.Kind.ToString().ToLowerInvariant(), step, run, keys,
            perHead.Count == 0 ? 0 : perHead.Max(h => h.PeakRatio),
            perHead.Count == 0 ? 0 : perHead.Average(h => h.SinkMass),
            epsilonShare.DefaultIfEmpty(0).Max(), perHead, tokens, topK);
    }
}
