using System.CommandLine;
using VDiTLens.Cli.Options;
using VDiTLens.Studies;

namespace VDiTLens.Cli.Commands;

/// <summary>
/// Prompts of the study verbs: given ones (<c>--prompt</c>, repeated, then those of <c>--prompts-file</c>), else this many
/// procedural captions; and the seeds.
/// </summary>
internal sealed class PromptOptions(int defaultCount, long[]? defaultSeeds = null, string seedsHelp = "comma list of generation seeds (the same seed is the same starting noise for every prompt)")
{
    public Option<string[]> Prompt { get; } = new("--prompt") { Description = "prompt (repeat for several); default: procedural prompts (scored by the clip evaluator on the embedded model)", AllowMultipleArgumentsPerToken = false };
    public Option<string?> File { get; } = new("--prompts-file") { Description = "text file of prompts, one a line (blank lines and lines starting with # are skipped); after any --prompt" };
    public Option<int> Count { get; } = new("--prompt-count", "--prompts") { Description = "how many procedural prompts when no --prompt or --prompts-file is given", DefaultValueFactory = _ => defaultCount };
    public Option<long[]> Seeds { get; } = ListOption.Longs("--seeds", seedsHelp, defaultSeeds);

    public void AddTo(Command command, bool withSeeds = true, bool withCount = true)
    {
        command.Options.Add(Prompt);
        command.Options.Add(File);
        if (withCount) command.Options.Add(Count);
        if (withSeeds) command.Options.Add(Seeds);
    }

    /// <summary>The --prompt values, then the prompts of --prompts-file.</summary>
    public string[] Given(ParseResult result)
    {
        var given = result.GetValue(Prompt) ?? Array.Empty<string>();
        return result.GetValue(File) is { } path ? given.Concat(PromptFile.Read(path)).ToArray() : given;
    }

    public int CountOf(ParseResult result)
    {
        int n = result.GetValue(Count);
        return n > 0 ? n : throw new VDiTLensException($"--prompt-count {n}: give at least 1");
    }
}
