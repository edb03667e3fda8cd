using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Tests.Probes;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Interventions;

/// <summary>
/// Independent reference of block_topk attention, element by element in float64: per batch row and head, means of query
/// tiles and key blocks, scores q̄·k̄·scale, the best keys blocks per tile (ties to the lower block), then softmax over
/// the kept keys and the weighted sum of values. As an intervention it replaces every call it sees on <see cref="Sites"/>.
/// </summary>
internal sealed class NaiveBlockTopK(int queryTile, int keyBlock, Func<int, int> keep, params string[] sites) : IAttentionIntervention
{
    public string[] Sites { get; } = sites;
    public double KeptPairs { get; private set; }
    public double TotalPairs { get; private set; }

    public bool Accepts(AttentionCall call) => Sites.Contains(call.Site.Kind.ToString().ToLowerInvariant()) || Sites.Contains(call.Site.Name);

    public Tensor Invoke(AttentionCall call, Tensor q, Tensor k, Tensor v, AttentionNext next)
    {
        var (qa, ka, va) = (ProbeReference.ToArray4(q), ProbeReference.ToArray4(k), ProbeReference.ToArray4(v));
        int batch = qa.GetLength(0), heads = qa.GetLength(1), lq = qa.GetLength(2), lk = ka.GetLength(2), d = qa.GetLength(3), dv = va.GetLength(3);
        int nq = (lq + queryTile - 1) / queryTile, nk = (lk + keyBlock - 1) / keyBlock, kept = keep(nk);
        var output = new double[batch * heads * lq * dv];
        for (int b = 0; b < batch; b++)
            for (int h = 0; h < heads; h++)
            {
                double[] Mean(double[,,,] x, int start, int end)
                {
                    var m = new double[d];
                    for (int t = start; t < end; t++) for (int c = 0; c < d; c++) m[c] += x[b, h, t, c];
                    return m.Select(s => s / (end - start)).ToArray();
                }
                var keyMeans = Enumerable.Range(0, nk).Select(j => Mean(ka, j * keyBlock, Math.Min(lk, (j + 1) * keyBlock))).ToArray();
                for (int tile = 0; tile < nq; tile++)
                {
                    var qm = Mean(qa, tile * queryTile, Math.Min(lq, (tile + 1) * queryTile));
                    var scores = keyMeans.Select(km => km.Zip(qm, (x, y) => x * y).Sum() * call.Scale).ToArray();
                    var blocks = Enumerable.Range(0, nk).OrderByDescending(j => scores[j]).ThenBy(j => j).Take(kept).ToHashSet();
                    for (int i = tile * queryTile; i < Math.Min(lq, (tile + 1) * queryTile); i++)
                    {
                        var logits = new double[lk];
                        double max = double.NegativeInfinity;
                        for (int j = 0; j < lk; j++)
                        {
                            if (!blocks.Contains(j / keyBlock)) continue;
                            for (int c = 0; c < d; c++) logits[j] += qa[b, h, i, c] * ka[b, h, j, c] * call.Scale;
                            max = Math.Max(max, logits[j]);
                        }
                        double sum = 0;
                        var p = new double[lk];
                        for (int j = 0; j < lk; j++)
                            if (blocks.Contains(j / keyBlock)) { p[j] = Math.Exp(logits[j] - max); sum += p[j]; KeptPairs++; }
                        TotalPairs += lk;
                        for (int j = 0; j < lk; j++)
                            for (int c = 0; c < dv; c++)
                                output[((b * heads + h) * lq + i) * dv + c] += p[j] / sum * va[b, h, j, c];
                    }
                }
            }
        return torch.tensor(output, dtype: ScalarType.Float64).view(batch, heads, lq, dv).to(q.dtype);
    }
}
