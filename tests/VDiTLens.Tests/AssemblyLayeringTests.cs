using System.Reflection;
using VDiTLens.Cli;
using VDiTLens.Reports;

namespace VDiTLens.Tests;

/// <summary>
/// The assemblies stack one way: the core library (VDiTLens) knows neither the studies nor the command, the studies
/// (VDiTLens.Studies) build on the core only, and the command (VDiTLens.Cli) sits on both.
/// </summary>
public sealed class AssemblyLayeringTests
{
    private static readonly Assembly Core = typeof(VDiTLensException).Assembly;
    private static readonly Assembly Studies = typeof(HtmlReport).Assembly;
    private static readonly Assembly Cli = typeof(CommandCatalog).Assembly;

    private static List<string> References(Assembly assembly) =>
        assembly.GetReferencedAssemblies().Select(a => a.Name!).Where(n => n.StartsWith("VDiTLens", StringComparison.Ordinal)).ToList();

    [Fact]
    public void The_three_assemblies_are_distinct()
    {
        Assert.Equal(new[] { "VDiTLens", "VDiTLens.Studies", "VDiTLens.Cli" }, new[] { Core, Studies, Cli }.Select(a => a.GetName().Name));
    }

    [Fact]
    public void The_core_references_no_other_VDiTLens_assembly()
    {
        Assert.Empty(References(Core));
    }

    [Fact]
    public void The_studies_reference_the_core_and_not_the_command()
    {
        Assert.Equal(new[] { "VDiTLens" }, References(Studies));
    }

    [Fact]
    public void The_command_references_the_core_and_the_studies()
    {
        Assert.Equal(new[] { "VDiTLens", "VDiTLens.Studies" }, References(Cli).Order());
    }

    /// <summary>The first two parts of a VDiTLens namespace (VDiTLens.Reports.Charts → VDiTLens.Reports); null for others.</summary>
    private static string? Area(Type type) =>
        type.Namespace is { } ns && ns.StartsWith("VDiTLens.", StringComparison.Ordinal) ? string.Join('.', ns.Split('.').Take(2)) : null;

    [Fact]
    public void The_core_and_the_studies_share_no_namespace()
    {
        var studyAreas = Studies.GetTypes().Select(Area).OfType<string>().ToHashSet();
        Assert.Contains("VDiTLens.Reports", studyAreas);
        Assert.Contains("VDiTLens.Studies", studyAreas);
        var coreAreas = Core.GetTypes().Select(Area).OfType<string>().ToHashSet();
        Assert.Contains("VDiTLens.Attention", coreAreas);
        Assert.Empty(coreAreas.Intersect(studyAreas));
    }
}
