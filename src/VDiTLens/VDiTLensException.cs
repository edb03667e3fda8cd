namespace VDiTLens;

/// <summary>
/// An error caused by the user's input (a file, a folder, an option) rather than by a bug.
/// The message names what is wrong and, where possible, how to fix it; the CLI prints it as one line.
/// </summary>
public sealed class VDiTLensException : Exception
{
    public VDiTLensException(string message) : base(message) { }
    public VDiTLensException(string message, Exception inner) : base(message, inner) { }
}
