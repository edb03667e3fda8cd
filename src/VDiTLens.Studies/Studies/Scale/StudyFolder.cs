using System.Text.Json;
using VDiTLens.Studies.Sparsity;

namespace VDiTLens.Studies.Scale;

/// <summary>
/// The results folder every shard of a study writes into: <c>settings.json</c> (what every shard must agree on),
/// <c>plan.json</c> and <c>cells/</c>, one atomic file per finished cell.
/// </summary>
public sealed class StudyFolder
{
    public const string SettingsFile = "settings.json";

    public string Folder { get; }
    public string Cells => Path.Combine(Folder, "cells");

    private StudyFolder(string folder)
    {
        Folder = folder;
        Directory.CreateDirectory(Cells);
    }

    /// <summary>
    /// Opens (or starts) the folder for a study with <paramref name="settings"/>; a folder holding a study with other
    /// settings is refused, since its cells would not belong to this one.
    /// </summary>
    public static StudyFolder Open(string folder, IReadOnlyDictionary<string, string> settings)
    {
        var sorted = new SortedDictionary<string, string>(settings.ToDictionary(kv => kv.Key, kv => kv.Value), StringComparer.Ordinal);
        string path = Path.Combine(folder, SettingsFile);
        if (File.Exists(path))
        {
            var previous = JsonSerializer.Deserialize<SortedDictionary<string, string>>(File.ReadAllText(path)) ?? new();
            var changed = sorted.Keys.Union(previous.Keys).Where(k => sorted.GetValueOrDefault(k) != previous.GetValueOrDefault(k)).ToArray();
            if (changed.Length > 0)
                throw new VDiTLensException($"{path}: this folder holds a study made with other settings ({string.Join(", ", changed)} differ); write to another folder or delete this one");
        }
        else AtomicFile.WriteAllText(path, JsonSerializer.Serialize(sorted, CellStore.Json));
        return new StudyFolder(folder);
    }

    public string CellPath(string id, string extension) => Path.Combine(Cells, id + extension);

    /// <summary>A cell saved as JSON; null when it is absent or unreadable (then it is computed again).</summary>
    public T? LoadJson<T>(string id) where T : class
    {
        string path = CellPath(id, ".json");
        if (!File.Exists(path)) return null;
        try { return JsonSerializer.Deserialize<T>(File.ReadAllText(path), CellStore.Json); }
        catch (JsonException) { return null; }
    }

    public void SaveJson<T>(string id, T value) => AtomicFile.WriteAllText(CellPath(id, ".json"), JsonSerializer.Serialize(value, CellStore.Json));
}
