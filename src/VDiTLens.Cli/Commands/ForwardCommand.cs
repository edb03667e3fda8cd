using System.CommandLine;
using Spectre.Console;
using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.IO;
using VDiTLens.Models.Common;
using static TorchSharp.torch;

namespace VDiTLens.Cli.Commands;

internal static class ForwardCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var model = new Option<string>("--model") { Description = "model folder (config.json + safetensors: a transformer, or the Wan VAE AutoencoderKLWan) or pipeline folder", Required = true };
        var inputs = new Option<string>("--inputs") { Description = "safetensors file with the forward arguments (fixture keys)", Required = true };
        var output = new Option<string>("--output") { Description = "safetensors file to write (key 'output')", Required = true };
        var saveAttention = new Option<bool>("--save-attention") { Description = "also write softmax probabilities of every attention call (keys attn.{layer}.{kind})" };
        var limit = new Option<long>("--attention-limit-mb") { Description = "refuse --save-attention beyond this many MiB", DefaultValueFactory = _ => 2048 };
        var command = new Command("forward", "One transformer forward pass on fixture-format inputs (or the Wan VAE's decode / encode)");
        foreach (var o in new Option[] { model, inputs, output, saveAttention, limit }) command.Options.Add(o);
        common.AddTo(command);
        command.SetAction(result =>
        {
            var options = common.Resolve(result);
            if (WanVaeForward.Handles(result.GetValue(model)!))
                return WanVaeForward.Run(result.GetValue(model)!, result.GetValue(inputs)!, result.GetValue(output)!, options);
            using var transformer = TransformerLoader.Load(result.GetValue(model)!, options);
            var data = InputFile.Load(result.GetValue(inputs)!, options, transformer.RequiredInputs.Concat(OptionalInputs));
            DenseProbabilityRecorder? recorder = null;
            IDisposable? attached = null;
            if (result.GetValue(saveAttention))
            {
                recorder = new DenseProbabilityRecorder(result.GetValue(limit) << 20);
                attached = transformer.Seam.Attach(recorder);
            }
            Tensor y;
            using (torch.no_grad()) y = transformer.Forward(data);
            attached?.Dispose();
            var outputs = new Dictionary<string, Tensor> { ["output"] = y.to(ScalarType.Float32) };
            if (recorder is not null)
                foreach (var (key, p) in recorder.Probabilities) outputs[key] = p;
            SafeTensorsWriter.Save(result.GetValue(output)!, outputs);
            AnsiConsole.WriteLine($"wrote {result.GetValue(output)}: output [{string.Join(", ", y.shape)}]" +
                (recorder is null ? "" : $" and {recorder.Probabilities.Count} attention maps"));
            return 0;
        });
        return command;
    }

    /// <summary>Inputs some families take optionally; passed through when present in the file.</summary>
    private static readonly string[] OptionalInputs =
    {
        "encoder_attention_mask", "pooled_projections", "guidance", "image_rotary_emb_cos", "image_rotary_emb_sin",
    };
}
