namespace VDiTLens.Tests.TestSupport;

/// <summary>
/// Tests that run CLI verbs share Spectre.Console's one global live display (progress bars), which refuses two at
/// once; putting them in one collection runs them one after another.
/// </summary>
[CollectionDefinition(Name)]
public sealed class ConsoleCollection
{
    public const string Name = "console";
}
