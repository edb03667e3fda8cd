using System.CommandLine;
using VDiTLens.Cli.Options;

namespace VDiTLens.Cli.Commands;

/// <summary>Prompts of the study verbs: given ones (<c>--prompt</c>, repeated), else this many procedural captions; and the seeds.</summary>
internal sealed class PromptOptions(int defaultCount, long[]? defaultSeeds = null, string seedsHelp = "comma list of generation seeds")
{
    public Option<string[]> Prompt { get; } = new("--prompt") { Description = "prompt (repeat for several); default: procedural prompts (scored by the clip evaluator on the embedded model)", AllowMultipleArgumentsPerToken = false };
    public Option<int> Count { get; } = new("--prompt-count", "--prompts") { Description = "how many procedural prompts when no --prompt is given", DefaultValueFactory = _ => defaultCount };
    public Option<long[]> Seeds { get; } = ListOption.Longs("--seeds", seedsHelp, defaultSeeds);

    public void AddTo(Command command, bool withSeeds = true)
    {
        command.Options.Add(Prompt);
        command.Options.Add(Count);
        if (withSeeds) command.Options.Add(Seeds);
    }

    public string[] Given(ParseResult result) => result.GetValue(Prompt) ?? Array.Empty<string>();

    public int CountOf(ParseResult result)
    {
        int n = result.GetValue(Count);
        return n > 0 ? n : throw new VDiTLensException($"--prompt-count {n}: give at least 1");
    }
}
