using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.IO;

/// <summary>
/// Copies checkpoint tensors into a module's parameters and buffers by name, one tensor at a time, each straight
/// to the parameter's device and dtype. Every missing, unexpected and mis-shaped name is reported at once.
/// </summary>
public static class WeightLoader
{
    /// <summary>Loads the folder's weights into <paramref name="model"/> (see <see cref="Load"/>) and returns it in evaluation mode.</summary>
    public static T LoadFolder<T>(T model, ModelFolder folder, Func<string, bool>? ignoreUnexpected = null) where T : nn.Module
    {
        using var weights = folder.OpenWeights();
        Load(model, weights, ignoreUnexpected);
        model.eval();
        return model;
    }

    /// <param name="ignoreUnexpected">Names in the checkpoint the module intentionally lacks (e.g. non-persistent buffers saved by old tools).</param>
    public static void Load(nn.Module module, ITensorSource source, Func<string, bool>? ignoreUnexpected = null,
        Func<string, bool>? optional = null)
    {
        var targets = module.state_dict();
        var missing = targets.Keys.Where(k => !source.Names.Contains(k) && !(optional?.Invoke(k) ?? false)).ToList();
        var unexpected = source.Names.Where(k => !targets.ContainsKey(k) && !(ignoreUnexpected?.Invoke(k) ?? false)).ToList();
        var misShaped = targets.Where(kv => source.Names.Contains(kv.Key))
            .Select(kv => (kv.Key, Expected: kv.Value.shape, Found: source.Entry(kv.Key).Shape))
            .Where(x => !x.Expected.SequenceEqual(x.Found))
            .ToList();
        if (missing.Count + unexpected.Count + misShaped.Count > 0)
        {
            var parts = new List<string>();
            if (missing.Count > 0) parts.Add($"{missing.Count} missing: {Summarise(missing)}");
            if (unexpected.Count > 0) parts.Add($"{unexpected.Count} unexpected: {Summarise(unexpected)}");
            if (misShaped.Count > 0)
                parts.Add($"{misShaped.Count} mis-shaped: " + Summarise(misShaped.Select(m =>
                    $"{m.Key} expected [{string.Join(", ", m.Expected)}] found [{string.Join(", ", m.Found)}]").ToList()));
            throw new VDiTLensException($"{source.Description}: weights do not match the model ({string.Join("; ", parts)}). Check that config.json belongs to these weights.");
        }

        using var _ = torch.no_grad();
        foreach (var (name, target) in targets)
        {
            if (!source.Names.Contains(name)) continue;
            using var value = source.Load(name, target.device, target.dtype);
            target.copy_(value);
        }
    }

    private static string Summarise(IReadOnlyList<string> names) =>
        string.Join(", ", names.Take(12)) + (names.Count > 12 ? $", … ({names.Count - 12} more)" : "");
}
