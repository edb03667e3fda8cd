using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Tests.Probes;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Interventions;

/// <summary>
/// Independent reference of block_topk attention, element by element in float64: per batch row and head, means of query
/// tiles and key blocks, scores q̄·k̄·scale and the best keys blocks per tile (ties to the lower block), handed on as a
/// boolean mask of the kept keys, so the dense kernel's softmax runs over them. Applies to every call on <see cref="Sites"/>.
/// </summary>
internal sealed class NaiveBlockTopK(int queryTile, int keyBlock, Func<int, int> keep, params string[] sites) : IAttentionIntervention
{
    public string[] Sites { get; } = sites;
    public double KeptPairs { get; private set; }
    public double TotalPairs { get; private set; }

    public bool Accepts(AttentionCall call) => Sites.Contains(call.Site.Kind.ToString().ToLowerInvariant()) || Sites.Contains(call.Site.Name);

    public Tensor Invoke(AttentionCall call, Tensor q, Tensor k, Tensor v, AttentionNext next)
    {
        var (qa, ka) = (ProbeReference.ToArray4(q), ProbeReference.ToArray4(k));
        int batch = qa.GetLength(0), heads = qa.GetLength(1), lq = qa.GetLength(2), lk = ka.GetLength(2), d = qa.GetLength(3);
        int nq = (lq + queryTile - 1) / queryTile, nk = (lk + keyBlock - 1) / keyBlock, kept = keep(nk);
        var keepMask = new bool[batch * heads * lq * lk];
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
                        for (int j = 0; j < lk; j++)
                        {
                            bool keepIt = blocks.Contains(j / keyBlock);
                            keepMask[((b * heads + h) * lq + i) * lk + j] = keepIt;
                            if (keepIt) KeptPairs++;
                            TotalPairs++;
                        }
                }
            }
        // The kept keys go to the rest of the chain as a boolean mask: the softmax over them is the dense kernel's.
        var mask = torch.tensor(keepMask, dtype: ScalarType.Bool).view(batch, heads, lq, lk).to(q.device);
        if (call.Mask is not null) throw new InvalidOperationException("the naive reference takes calls without a mask");
        return next(call with { Mask = mask }, q, k, v);
    }
}
