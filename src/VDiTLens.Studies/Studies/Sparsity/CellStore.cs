using System.Text.Json;
using System.Text.Json.Serialization;

namespace VDiTLens.Studies.Sparsity;

/// <summary>
/// Finished cells, one JSON file each in a folder. A cell is written to a temporary file, flushed to disk and renamed
/// into place, so a process killed at any moment leaves either the whole cell or none of it; stray temporary files and
/// unreadable files are ignored (the cell is recomputed).
/// </summary>
public sealed class CellStore
{
    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public string Folder { get; }

    public CellStore(string folder)
    {
        Folder = folder;
        Directory.CreateDirectory(folder);
    }

    public string PathOf(SweepCell cell) => Path.Combine(Folder, cell.Id + ".json");

    public bool Contains(SweepCell cell) => TryLoad(cell) is not null;

    public SweepCellResult? TryLoad(SweepCell cell)
    {
        string path = PathOf(cell);
        if (!File.Exists(path)) return null;
        try
        {
            var result = JsonSerializer.Deserialize<SweepCellResult>(File.ReadAllText(path), Json);
            return result is not null && result.Cell == cell ? result : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Every readable cell in the folder.</summary>
    public IReadOnlyList<SweepCellResult> LoadAll()
    {
        var results = new List<SweepCellResult>();
        foreach (var file in Directory.GetFiles(Folder, "*.json"))
        {
            try
            {
                if (JsonSerializer.Deserialize<SweepCellResult>(File.ReadAllText(file), Json) is { } r && Path.GetFileName(file) == r.Cell.Id + ".json")
                    results.Add(r);
            }
            catch (JsonException) { }
        }
        return results;
    }

    public void Save(SweepCellResult result) => AtomicFile.WriteAllText(PathOf(result.Cell), JsonSerializer.Serialize(result, Json));
}

/// <summary>Whole-file writes that are never seen half-written: temporary file, fsync, rename.</summary>
public static class AtomicFile
{
    public static void WriteAllText(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        string temporary = $"{path}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(text);
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
    }
}
