using System.CommandLine;
using Spectre.Console;
using VDiTLens.Procedural.Scenes;

namespace VDiTLens.Cli.Commands;

internal static class SceneCheckCommand
{
    public static Command Create()
    {
        var scenes = new Option<int>("--scenes") { Description = "ground-truth scenes to render and read", DefaultValueFactory = _ => 500 };
        var seed = new Option<int>("--seed") { Description = "dataset seed of the scenes (evaluation stream)", DefaultValueFactory = _ => 11 };
        var command = new Command("scene-check", "Render fresh multi-object scenes and score the rule-based scene evaluator against their ground truth (95 % bootstrap CIs over scenes)");
        command.Options.Add(scenes);
        command.Options.Add(seed);
        command.SetAction(result =>
        {
            var a = SceneEvaluatorAccuracy.Measure(new SceneDataset(new SceneDatasetOptions(Seed: result.GetValue(seed))), result.GetValue(scenes));
            AnsiConsole.WriteLine($"{a.Clips} scenes, {a.Objects} objects (17 × 48 × 48)");
            AnsiConsole.WriteLine($"object colours exact  {a.ObjectsExact}");
            AnsiConsole.WriteLine($"shape                 {a.Shape}");
            AnsiConsole.WriteLine($"texture               {a.Texture}");
            AnsiConsole.WriteLine($"direction             {a.Direction}");
            AnsiConsole.WriteLine($"speed                 {a.Speed}");
            AnsiConsole.WriteLine($"camera                {a.Camera}");
            AnsiConsole.WriteLine($"box centre error (px) {a.CentreErrorPixels}");
            AnsiConsole.WriteLine($"box IoU               {a.BoxIoU}");
            return 0;
        });
        return command;
    }
}
