using System.Text.Json;
using System.Text.Json.Nodes;
using VDiTLens.IO;
using static TorchSharp.torch;

namespace VDiTLens.Training;

/// <summary>Scalar state of a checkpoint (<c>state.json</c>).</summary>
/// <param name="Step">Steps completed; training resumes at this step.</param>
/// <param name="TrainingSeconds">Wall-clock seconds spent in the training loop so far, over all runs.</param>
/// <param name="LastLoss">Mean loss of the last logged interval.</param>
public sealed record CheckpointState(int Step, double TrainingSeconds, double LastLoss, TinyModelConfig Model, TinyTrainingOptions Options);

/// <summary>
/// A resumable training checkpoint folder: <c>model.safetensors</c> (weights), <c>ema.safetensors</c> (averaged weights),
/// <c>optimizer.safetensors</c> (AdamW moments) and <c>state.json</c>. The data, noise and sigma of every step are a
/// function of (seed, step), so these files are the whole state. Replaced atomically (<see cref="CheckpointFolder"/>).
/// </summary>
public static class TrainingCheckpoint
{
    public const string StateFile = "state.json";
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public static void Save(string folder, CheckpointState state, TinyModel model, ExponentialMovingAverage ema, NamedAdamW optimizer) =>
        CheckpointFolder.Replace(folder, temporary =>
        {
            SafeTensorsWriter.Save(Path.Combine(temporary, "model.safetensors"), model.NamedParameters.Select(p => KeyValuePair.Create(p.Name, (Tensor)p.Parameter)));
            SafeTensorsWriter.Save(Path.Combine(temporary, "ema.safetensors"), ema.Weights);
            SafeTensorsWriter.Save(Path.Combine(temporary, "optimizer.safetensors"), optimizer.State(),
                new Dictionary<string, string> { ["adam_steps"] = optimizer.Steps.ToString() });
            File.WriteAllText(Path.Combine(temporary, StateFile), JsonSerializer.Serialize(state, Json));
        });

    public static bool Exists(string folder) => File.Exists(Path.Combine(folder, StateFile));

    public static CheckpointState ReadState(string folder)
    {
        string file = Path.Combine(folder, StateFile);
        if (!File.Exists(file)) throw new VDiTLensException($"{file}: no checkpoint here to resume from (train without --resume first)");
        return JsonSerializer.Deserialize<CheckpointState>(File.ReadAllText(file))
            ?? throw new VDiTLensException($"{file}: empty checkpoint state");
    }

    /// <summary>Restores weights, EMA and optimizer moments saved by <see cref="Save"/>.</summary>
    public static void Load(string folder, TinyModel model, ExponentialMovingAverage ema, NamedAdamW optimizer)
    {
        LoadWeights(folder, model, ema);
        using var file = SafeTensorsFile.Open(Path.Combine(folder, "optimizer.safetensors"));
        var state = file.LoadAll(model.Device);
        long steps = file.Metadata.TryGetValue("adam_steps", out var s) ? long.Parse(s) : 0;
        optimizer.Load(state, steps);
        foreach (var t in state.Values) t.Dispose();
    }

    /// <summary>Restores only the weights and their EMA (a warm start: fresh optimizer, schedule and step count).</summary>
    public static void LoadWeights(string folder, TinyModel model, ExponentialMovingAverage ema)
    {
        using (var file = SafeTensorsFile.Open(Path.Combine(folder, "model.safetensors")))
        {
            var weights = file.LoadAll(model.Device);
            using var _ = TorchSharp.torch.no_grad();
            foreach (var (name, p) in model.NamedParameters) p.copy_(NamedAdamW.Require(weights, name));
            foreach (var t in weights.Values) t.Dispose();
        }
        using (var file = SafeTensorsFile.Open(Path.Combine(folder, "ema.safetensors")))
        {
            var weights = file.LoadAll(model.Device);
            ema.Load(weights);
            foreach (var t in weights.Values) t.Dispose();
        }
    }
}
