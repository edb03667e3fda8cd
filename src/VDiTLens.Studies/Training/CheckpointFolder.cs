namespace VDiTLens.Training;

/// <summary>Replaces a checkpoint folder atomically: written into a sibling folder, then swapped in, so a crash never leaves a half-written checkpoint.</summary>
public static class CheckpointFolder
{
    public static void Replace(string folder, Action<string> writeInto)
    {
        string full = Path.GetFullPath(folder);
        string temporary = full + ".tmp", previous = full + ".old";
        if (Directory.Exists(temporary)) Directory.Delete(temporary, true);
        Directory.CreateDirectory(temporary);
        writeInto(temporary);
        if (Directory.Exists(previous)) Directory.Delete(previous, true);
        if (Directory.Exists(full)) Directory.Move(full, previous);
        Directory.Move(temporary, full);
        if (Directory.Exists(previous)) Directory.Delete(previous, true);
    }
}
