namespace VDiTLens.IO.Fuzzing;

public enum FuzzVerdict
{
    /// <summary>The file opened and every tensor was read, with the bytes the header promised.</summary>
    ValidLoad,
    /// <summary>The reader refused the file with a <see cref="VDiTLensException"/> naming it.</summary>
    CleanError,
    /// <summary>Anything else: another exception type, a wrong read, a slow case or an oversized allocation.</summary>
    Failure,
}

/// <param name="Detail">The message class of a clean error, or what went wrong in a failure.</param>
/// <param name="Mutations">The mutations applied, in order, for reproducing the case.</param>
public sealed record FuzzOutcome(long Case, FuzzVerdict Verdict, string Detail, string Mutations, byte[] Bytes);
