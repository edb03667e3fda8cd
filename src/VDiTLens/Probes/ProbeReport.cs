using System.Text.Json;
using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.IO;
using static TorchSharp.torch;

namespace VDiTLens.Probes;

/// <summary>
/// Writes probe results: <c>probes.safetensors</c> (every result tensor under its documented key) and
/// <c>summary.json</c> (per site: top receivers with their location, per-head entropy and coverage).
/// Keys are documented in docs/probes.md.
/// </summary>
public static class ProbeReport
{
    /// <summary>Writes both files; returns the number of tensors written.</summary>
    public static int Write(string folder, ProbeSet probes, IReadOnlyDictionary<string, string>? metadata = null)
    {
        Directory.CreateDirectory(folder);
        using var results = probes.Results();
        SafeTensorsWriter.Save(Path.Combine(folder, "probes.safetensors"), results.ByPrintedKey(), metadata);
        File.WriteAllText(Path.Combine(folder, "summary.json"), JsonSerializer.Serialize(Summarise(results, probes.KeyLayouts), new JsonSerializerOptions { WriteIndented = true }));
        return results.Count;
    }

    /// <summary>Per result group: top receivers, per-head entropy and coverage; results that could not be computed are listed with the reason.</summary>
    public static Dictionary<string, object> Summarise(ProbeResults results, IReadOnlyDictionary<ProbeGroup, TokenLayout> layouts)
    {
        var sites = new SortedDictionary<string, Dictionary<string, object>>(StringComparer.Ordinal);
        Dictionary<string, object> Site(ProbeGroup group) => sites.TryGetValue(group.ToString(), out var s) ? s : sites[group.ToString()] = new Dictionary<string, object>();
        foreach (var (name, tensor) in results)
        {
            var key = name.Group;
            switch (name.Statistic)
            {
                case "received_mass" when layouts.TryGetValue(key, out var layout):
                    Site(key)["top_receivers"] = SinkLocator.Top(tensor, layout, 5);
                    break;
                case "entropy":
                    Site(key)["entropy_per_head"] = tensor.mean(new long[] { 0 }).data<float>().ToArray();
                    break;
                case "coverage_fraction":
                    var perHead = tensor.mean(new long[] { 0 }); // [H, levels]
                    Site(key)["coverage_fraction_per_head"] = Enumerable.Range(0, (int)perHead.shape[0])
                        .Select(h => perHead[h].data<float>().ToArray()).ToArray();
                    Site(key)["coverage_levels"] = EntropyCoverage.Levels;
                    break;
            }
        }
        foreach (var (name, reason) in results.Unavailable)
            Site(name.Group)[$"{name.Statistic}_unavailable"] = reason;
        return new Dictionary<string, object> { ["sites"] = sites };
    }
}
