using System.CommandLine;
using TorchSharp;
using VDiTLens.Training;

namespace VDiTLens.Cli.Commands;

internal static class EvalTinyCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var model = new Option<string?>("--model") { Description = "tiny pixel-space pipeline folder (default: the embedded model)" };
        var perCombination = new Option<int>("--per-combination") { Description = "held-out prompts per held-out combination (15 combinations)", DefaultValueFactory = _ => 3 };
        var seen = new Option<int>("--seen") { Description = "also this many prompts of trained combinations (0 = none)", DefaultValueFactory = _ => 48 };
        var steps = new Option<int>("--steps", "--num-inference-steps") { Description = "denoising steps", DefaultValueFactory = _ => StudyDefaults.Procedural.Steps };
        var guidance = new Option<double>("--guidance", "--guidance-scale") { Description = "classifier-free guidance scale", DefaultValueFactory = _ => StudyDefaults.Procedural.GuidanceScale };
        var batch = new Option<int>("--batch") { Description = "prompts generated together", DefaultValueFactory = _ => 8 };
        var textLength = new Option<int>("--text-length") { Description = "rows the prompt states are zero-padded to", DefaultValueFactory = _ => 16 };
        var json = new Option<string?>("--json") { Description = "write accuracies and per-clip judgements here" };
        var sheet = new Option<string?>("--sheet") { Description = "write a contact sheet PNG of the held-out clips here" };
        var command = new Command("eval-tiny", "Generate the held-out procedural prompts with the tiny model and score colour, shape and direction");
        foreach (var o in new Option[] { model, perCombination, seen, steps, guidance, batch, textLength, json, sheet }) command.Options.Add(o);
        common.AddTo(command);
        command.SetAction(result =>
        {
            var options = common.Resolve(result);
            if (result.GetValue(common.DType) == "auto") options = options with { DType = torch.ScalarType.Float32 };
            TinyEvaluationOutput.Run(Options.ModelLocator.Resolve(result.GetValue(model)), options, result.GetValue(perCombination), result.GetValue(seen), result.GetValue(steps),
                result.GetValue(guidance), result.GetValue(batch), result.GetValue(textLength), result.GetValue(json), result.GetValue(sheet));
            return 0;
        });
        return command;
    }
}
