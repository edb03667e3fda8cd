using System.Text.Json;
using VDiTLens.IO;
using VDiTLens.Models.Llama;
using static TorchSharp.torch;

namespace VDiTLens.Training.LanguageModel;

/// <summary>Scalar state of a tiny-LM checkpoint (<c>state.json</c>).</summary>
/// <param name="Step">Steps completed; training resumes at this step.</param>
/// <param name="TrainingSeconds">Wall-clock seconds spent in the training loop so far, over all runs.</param>
/// <param name="LastLoss">Mean loss of the last logged interval.</param>
public sealed record TinyLmCheckpointState(int Step, double TrainingSeconds, double LastLoss, TinyLmShape Shape, TinyLmOptions Options);

/// <summary>
/// A resumable tiny-LM checkpoint folder: <c>model.safetensors</c> (weights by transformers name),
/// <c>optimizer.safetensors</c> (AdamW moments and step count) and <c>state.json</c>. Every batch is a function of
/// (seed, step), so these files are the whole state. Replaced atomically (<see cref="CheckpointFolder"/>).
/// </summary>
public static class TinyLmCheckpoint
{
    public const string StateFile = "state.json";
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals, // before any step the loss is NaN
    };

    public static void Save(string folder, TinyLmCheckpointState state, LlamaForCausalLM lm, NamedAdamW optimizer) =>
        CheckpointFolder.Replace(folder, temporary =>
        {
            SafeTensorsWriter.Save(Path.Combine(temporary, "model.safetensors"), TinyLm.NamedParameters(lm).Select(p => KeyValuePair.Create(p.Name, (Tensor)p.Parameter)));
            SafeTensorsWriter.Save(Path.Combine(temporary, "optimizer.safetensors"), optimizer.State(),
                new Dictionary<string, string> { ["adam_steps"] = optimizer.Steps.ToString() });
            File.WriteAllText(Path.Combine(temporary, StateFile), JsonSerializer.Serialize(state, Json));
        });

    public static TinyLmCheckpointState ReadState(string folder)
    {
        string file = Path.Combine(folder, StateFile);
        if (!File.Exists(file)) throw new VDiTLensException($"{file}: no checkpoint here to resume from (train without resuming first)");
        return JsonSerializer.Deserialize<TinyLmCheckpointState>(File.ReadAllText(file))
            ?? throw new VDiTLensException($"{file}: empty checkpoint state");
    }

    /// <summary>Restores the weights and the AdamW moments saved by <see cref="Save"/>.</summary>
    public static void Load(string folder, LlamaForCausalLM lm, NamedAdamW optimizer)
    {
        var device = lm.model.embed_tokens.weight!.device;
        using (var file = SafeTensorsFile.Open(Path.Combine(folder, "model.safetensors")))
        {
            var weights = file.LoadAll(device);
            using (TorchSharp.torch.no_grad())
                foreach (var (name, p) in TinyLm.NamedParameters(lm)) p.copy_(NamedAdamW.Require(weights, name));
            foreach (var t in weights.Values) t.Dispose();
        }
        using (var file = SafeTensorsFile.Open(Path.Combine(folder, "optimizer.safetensors")))
        {
            var state = file.LoadAll(device);
            optimizer.Load(state, file.Metadata.TryGetValue("adam_steps", out var s) ? long.Parse(s) : 0);
            foreach (var t in state.Values) t.Dispose();
        }
    }
}
