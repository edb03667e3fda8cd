using VDiTLens.Runtime;

namespace VDiTLens.Pipelines;

/// <summary>
/// Random-weight pipeline builds draw from torch's process-wide generator: seeding it and building under one lock keeps
/// two seeded builds on different threads from interleaving their draws (same seed, same weights).
/// </summary>
internal static class SeededBuild
{
    private static readonly object Gate = new();

    /// <summary>Takes the lock and seeds the global generator with the options' seed; disposing releases the lock.</summary>
    public static IDisposable Enter(ComputeOptions options)
    {
        Monitor.Enter(Gate);
        options.ApplySeed();
        return new Release();
    }

    private sealed class Release : IDisposable
    {
        public void Dispose() => Monitor.Exit(Gate);
    }
}
