using System.CommandLine;
using VDiTLens.Studies.Scale;

namespace VDiTLens.Cli.Options;

/// <summary><c>--shard i/n</c>: run only shard i (0-based) of n of a study's cells.</summary>
internal static class ShardOption
{
    public static Option<Shard?> Create() => new("--shard")
    {
        Description = "run only this share of the cells, i/n with i in 0..n-1; shards share --out and never write the same cell (then: vditlens merge)",
        CustomParser = result =>
        {
            string text = result.Tokens.Single().Value;
            try { return Shard.Parse(text); }
            catch (VDiTLensException e)
            {
                result.AddError($"--shard: {e.Message}");
                return null;
            }
        },
    };
}
