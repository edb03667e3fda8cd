using VDiTLens.Tests.Probes;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Interventions;

/// <summary>
/// Naive float64 attention with a per-row keep rule: for each (batch, head, query) the dense probabilities over the
/// valid keys are computed with loops, the rule picks the kept keys, and the output is the softmax renormalised over
/// kept valid keys times v. Counts kept and valid pairs for density checks.
/// </summary>
internal sealed class DenseReference(double[,,,] q, double[,,,] k, double[,,,] v, double scale, Func<int, int, bool> valid)
{
    /// <summary>Decides the kept keys of one row from (batch, head, query, dense probabilities, valid keys).</summary>
    public delegate bool[] KeepRule(int b, int h, int i, double[] p, bool[] valid);

    public static DenseReference Of(Tensor q, Tensor k, Tensor v, double scale, Func<int, int, bool> valid) =>
        new(ProbeReference.ToArray4(q), ProbeReference.ToArray4(k), ProbeReference.ToArray4(v), scale, valid);

    public double Kept { get; private set; }
    public double Valid { get; private set; }

    public int Batch => q.GetLength(0);
    public int Heads => q.GetLength(1);
    public int Queries => q.GetLength(2);
    public int Keys => k.GetLength(2);

    public double[] Logits(int b, int h, int i)
    {
        var logits = new double[Keys];
        for (int j = 0; j < Keys; j++)
        {
            double dot = 0;
            for (int d = 0; d < q.GetLength(3); d++) dot += q[b, h, i, d] * k[b, h, j, d];
            logits[j] = dot * scale;
        }
        return logits;
    }

    public bool[] ValidRow(int b) => Enumerable.Range(0, Keys).Select(j => valid(b, j)).ToArray();

    public double[] Probabilities(int b, int h, int i) => Softmax(Logits(b, h, i), ValidRow(b));

    public static double[] Softmax(double[] logits, bool[] keep)
    {
        double max = logits.Where((_, j) => keep[j]).DefaultIfEmpty(0).Max();
        var e = logits.Select((x, j) => keep[j] ? Math.Exp(x - max) : 0.0).ToArray();
        double sum = e.Sum();
        return e.Select(x => sum > 0 ? x / sum : 0.0).ToArray();
    }

    /// <summary>Σ_j p_j v[b, h, j] for one probability row.</summary>
    public double[] Output(int b, int h, double[] p)
    {
        var output = new double[v.GetLength(3)];
        for (int j = 0; j < Keys; j++)
        for (int d = 0; d < output.Length; d++)
            output[d] += p[j] * v[b, h, j, d];
        return output;
    }

    public Tensor Attend(KeepRule rule)
    {
        Kept = Valid = 0;
        int dv = v.GetLength(3);
        var output = new double[Batch, Heads, Queries, dv];
        for (int b = 0; b < Batch; b++)
        {
            var validRow = ValidRow(b);
            for (int h = 0; h < Heads; h++)
            for (int i = 0; i < Queries; i++)
            {
                var logits = Logits(b, h, i);
                var keep = rule(b, h, i, Softmax(logits, validRow), validRow);
                var both = keep.Select((x, j) => x && validRow[j]).ToArray();
                Kept += both.Count(x => x);
                Valid += validRow.Count(x => x);
                var p = Softmax(logits, both);
                for (int j = 0; j < Keys; j++)
                for (int d = 0; d < dv; d++)
                    output[b, h, i, d] += p[j] * v[b, h, j, d];
            }
        }
        return ProbeReference.FromArray(output);
    }

    /// <summary>The probabilities [B, H, Lq, Lk] the rule leaves: softmax renormalised over kept valid keys.</summary>
    public double[,,,] Probabilities(KeepRule rule)
    {
        var result = new double[Batch, Heads, Queries, Keys];
        for (int b = 0; b < Batch; b++)
        {
            var validRow = ValidRow(b);
            for (int h = 0; h < Heads; h++)
            for (int i = 0; i < Queries; i++)
            {
                var logits = Logits(b, h, i);
                var keep = rule(b, h, i, Softmax(logits, validRow), validRow);
                var p = Softmax(logits, keep.Select((x, j) => x && validRow[j]).ToArray());
                for (int j = 0; j < Keys; j++) result[b, h, i, j] = p[j];
            }
        }
        return result;
    }

    public Tensor Dense() => Attend((_, _, _, p, _) => p.Select(_ => true).ToArray());
}
