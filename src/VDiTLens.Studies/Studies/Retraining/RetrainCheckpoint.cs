using VDiTLens.Training;
using System.Text.Json;
using VDiTLens.IO;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Retraining;

/// <summary>Scalar state of a retraining checkpoint: steps done, the loss of every step, and the options it was started with.</summary>
public sealed record RetrainState(int Step, double TrainingSeconds, IReadOnlyList<double> Losses, RetrainOptions Options);

/// <summary>
/// A resumable checkpoint folder: <c>trainable.safetensors</c> (the retrained parameters by model name),
/// <c>optimizer.safetensors</c> (AdamW moments, step count in the metadata) and <c>state.json</c>. Written to a
/// sibling folder and swapped in, so an interrupted save never leaves a half-written checkpoint.
/// </summary>
public static class RetrainCheckpoint
{
    public const string StateFile = "state.json";
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public static void Save(string folder, RetrainState state, NamedAdamW optimizer) =>
        CheckpointFolder.Replace(folder, temporary =>
        {
            SafeTensorsWriter.Save(Path.Combine(temporary, "trainable.safetensors"),
                optimizer.Parameters.Select(p => KeyValuePair.Create(p.Name, (Tensor)p.Parameter)));
            SafeTensorsWriter.Save(Path.Combine(temporary, "optimizer.safetensors"), optimizer.State(),
                new Dictionary<string, string> { ["adam_steps"] = optimizer.Steps.ToString() });
            File.WriteAllText(Path.Combine(temporary, StateFile), JsonSerializer.Serialize(state, Json));
        });

    public static bool Exists(string folder) => File.Exists(Path.Combine(folder, StateFile));

    public static RetrainState ReadState(string folder)
    {
        string file = Path.Combine(folder, StateFile);
        return JsonSerializer.Deserialize<RetrainState>(File.ReadAllText(file))
            ?? throw new VDiTLensException($"{file}: empty checkpoint state; delete the folder to start over");
    }

    /// <summary>Restores parameters and optimizer moments saved by <see cref="Save"/>.</summary>
    public static void Load(string folder, NamedAdamW optimizer)
    {
        using (var file = SafeTensorsFile.Open(Path.Combine(folder, "trainable.safetensors")))
        {
            var weights = file.LoadAll();
            using var _ = TorchSharp.torch.no_grad();
            foreach (var (name, p) in optimizer.Parameters) p.copy_(NamedAdamW.Require(weights, name));
            foreach (var t in weights.Values) t.Dispose();
        }
        using (var file = SafeTensorsFile.Open(Path.Combine(folder, "optimizer.safetensors")))
        {
            var state = file.LoadAll();
            long steps = file.Metadata.TryGetValue("adam_steps", out var s) ? long.Parse(s) : 0;
            optimizer.Load(state, steps);
            foreach (var t in state.Values) t.Dispose();
        }
    }
}
