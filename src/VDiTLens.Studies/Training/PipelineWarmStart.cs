using System.Text.Json;
using System.Text.Json.Nodes;
using VDiTLens.IO;

namespace VDiTLens.Training;

/// <summary>
/// Warm start from a pipeline folder written by <see cref="TinyPipelineWriter"/> (e.g. the shipped
/// <c>models/vditlens-tiny</c>): the model config, steps and seconds come from its <c>training.json</c>; its weights (the
/// EMA of the run that wrote it) start both the trained weights and the new EMA.
/// </summary>
public static class PipelineWarmStart
{
    public const string TrainingFile = "training.json";

    public static bool IsPipeline(string folder) => File.Exists(Path.Combine(folder, "model_index.json"));

    public static CheckpointState ReadState(string folder)
    {
        string file = Path.Combine(folder, TrainingFile);
        if (!File.Exists(file))
            throw new VDiTLensException($"{file}: missing; --init-from needs a pipeline folder written by train-tiny (or a checkpoint folder)");
        var root = JsonNode.Parse(File.ReadAllText(file)) ?? throw new VDiTLensException($"{file}: empty");
        var config = root["model"]?.Deserialize<TinyModelConfig>()
            ?? throw new VDiTLensException($"{file}: no \"model\" section; it was not written by train-tiny");
        var options = root["options"]?.Deserialize<TinyTrainingOptions>() ?? new TinyTrainingOptions();
        var summary = root["summary"];
        return new CheckpointState(summary?["Steps"]?.GetValue<int>() ?? 0, summary?["TrainingSeconds"]?.GetValue<double>() ?? 0,
            summary?["FinalLoss"]?.GetValue<double>() ?? double.NaN, config, options);
    }

    /// <summary>Copies the folder's transformer and text-encoder weights into the model and the EMA.</summary>
    public static void LoadWeights(string folder, TinyModel model, ExponentialMovingAverage ema)
    {
        var weights = new Dictionary<string, TorchSharp.torch.Tensor>();
        try
        {
            Add(weights, Path.Combine(folder, "transformer", "diffusion_pytorch_model.safetensors"), TinyModel.TransformerPrefix, model);
            Add(weights, Path.Combine(folder, "text_encoder", "model.safetensors"), TinyModel.TextEncoderPrefix, model);
            using (TorchSharp.torch.no_grad())
                foreach (var (name, p) in model.NamedParameters) p.copy_(NamedAdamW.Require(weights, name));
            ema.Load(weights);
        }
        finally
        {
            foreach (var t in weights.Values) t.Dispose();
        }
    }

    private static void Add(Dictionary<string, TorchSharp.torch.Tensor> weights, string path, string prefix, TinyModel model)
    {
        if (!File.Exists(path)) throw new VDiTLensException($"{path}: missing; the pipeline folder is incomplete");
        using var file = SafeTensorsFile.Open(path);
        foreach (var (name, tensor) in file.LoadAll(model.Device)) weights[prefix + name] = tensor;
    }
}
