using VDiTLens.Attention;

namespace VDiTLens.Probes;

/// <summary>How probe results are aggregated: over everything (per site), or kept apart per step, branch or run.</summary>
[Flags]
public enum ProbeGrouping
{
    Site = 0,
    Step = 1,
    Branch = 2,
    Run = 4,
}

public static class ProbeGroupingExtensions
{
    /// <summary>The result key of a call: the site name, with ".step{n}", ".{branch}", ".run{n}" as grouped.</summary>
    public static string KeyOf(this ProbeGrouping grouping, AttentionCall call)
    {
        string key = call.Site.Name;
        if (grouping.HasFlag(ProbeGrouping.Run)) key += $".run{call.State.Run}";
        if (grouping.HasFlag(ProbeGrouping.Step)) key += $".step{call.State.Step}";
        if (grouping.HasFlag(ProbeGrouping.Branch)) key += $".{call.State.Branch}";
        return key;
    }
}
