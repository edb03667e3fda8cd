namespace VDiTLens.Cli.Commands;

/// <summary>Detaches a verb's interventions (or any handles) together.</summary>
internal sealed class Detacher(IReadOnlyList<IDisposable> handles) : IDisposable
{
    public void Dispose()
    {
        foreach (var h in handles) h.Dispose();
    }
}
