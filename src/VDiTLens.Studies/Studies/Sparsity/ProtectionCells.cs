using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using TorchSharp;
using VDiTLens.IO;
using VDiTLens.Pipelines;
using VDiTLens.Studies.Scale;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Sparsity;

/// <summary>
/// The held-out study's results folder (<c>&lt;report&gt;/sparsity/run/protection/</c>, a <see cref="StudyFolder"/>): its
/// settings are what every generation shares (model, prompts, sizes, method); each cell is one generation's outcome
/// (a dense run as safetensors, anything else as JSON), named by everything else that determines it, so a rerun skips
/// every saved cell, and a rerun with more seeds or levels reuses the ones it shares. <c>study.json</c> holds the
/// study's options and sites (<see cref="ProtectionSettings"/>), which every shard must share and merging reads;
/// <c>plan.json</c> its cells.
/// </summary>
public sealed class ProtectionCells
{
    private readonly StudyFolder _folder;

    private ProtectionCells(StudyFolder folder) => _folder = folder;

    public string Folder => _folder.Folder;

    public const string StudyFile = "study.json";

    public static string RunFolder(string reportFolder) => Path.Combine(reportFolder, SparsityReport.Folder, "run", "protection");

    /// <summary>A folder some run has started, opened with the settings it holds (to merge its cells without a model).</summary>
    public static ProtectionCells Existing(string runFolder)
    {
        string path = Path.Combine(runFolder, StudyFolder.SettingsFile);
        if (!File.Exists(path) || !File.Exists(Path.Combine(runFolder, StudyFile)))
            throw new VDiTLensException($"{runFolder}: no held-out sparsity study here (no run or shard has started)");
        var settings = System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(path))
            ?? throw new VDiTLensException($"{path}: unreadable settings");
        return new ProtectionCells(StudyFolder.Open(runFolder, settings));
    }

    /// <summary>
    /// Records the study's options and sites. A folder recording other ones is refused when <paramref name="replace"/>
    /// is false (a shard: its siblings must run the same study); a whole run replaces them, reusing the generations it shares.
    /// </summary>
    public void Record(ProtectionSettings settings, bool replace)
    {
        string path = Path.Combine(Folder, StudyFile), json = settings.ToJson();
        if (!replace && File.Exists(path) && File.ReadAllText(path) != json)
            throw new VDiTLensException($"{path}: this folder holds a held-out study with other options or sites; give every shard the same options, or write to another folder");
        if (!File.Exists(path) || File.ReadAllText(path) != json) AtomicFile.WriteAllText(path, json);
    }

    public ProtectionSettings LoadSettings()
    {
        string path = Path.Combine(Folder, StudyFile);
        try
        {
            return System.Text.Json.JsonSerializer.Deserialize<ProtectionSettings>(File.ReadAllText(path), CellStore.Json)
                ?? throw new VDiTLensException($"{path}: empty study settings");
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new VDiTLensException($"{path}: unreadable study settings ({e.Message}); run any shard again to rewrite it");
        }
    }

    /// <param name="modelId">The model and how it runs (path, device, dtype).</param>
    public static ProtectionCells Open(string runFolder, string modelId, GenerationRequest request, SweepMethod method) =>
        new(StudyFolder.Open(runFolder, new Dictionary<string, string>
        {
            ["model"] = modelId,
            ["prompts"] = string.Join("\n", request.Prompts),
            ["generation"] = string.Join("|", request.Steps, R(request.GuidanceScale), request.Frames, request.Height, request.Width,
                request.MaxSequenceLength, request.NegativePrompt, request.BatchGuidance),
            ["method"] = method.TemplateJson + "|" + method.LevelField,
        }.WithImage(request.Image)));

    public static string R(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>A short, stable name for a long key (the first 12 hex digits of its SHA-256).</summary>
    public static string Hash(string key) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..12].ToLowerInvariant();

    public static string DenseId(long seed) => $"dense_seed{seed}";

    public bool HasDense(long seed)
    {
        string path = _folder.CellPath(DenseId(seed), ".safetensors");
        if (!File.Exists(path)) return false;
        try
        {
            using var file = SafeTensorsFile.Open(path);
            return file.Contains("latents") && file.Contains("video");
        }
        catch (Exception e) when (e is IOException or VDiTLensException or FormatException or System.Text.Json.JsonException)
        {
            return false;
        }
    }

    /// <summary>The dense run of <paramref name="seed"/>, or null when it is absent or unreadable (then it is generated again).</summary>
    public GeneratedSample? TryLoadDense(long seed)
    {
        string path = _folder.CellPath(DenseId(seed), ".safetensors");
        if (!File.Exists(path)) return null;
        try
        {
            using var file = SafeTensorsFile.Open(path);
            var all = file.LoadAll();
            return new GeneratedSample(all["latents"], all["video"]);
        }
        catch (Exception e) when (e is IOException or VDiTLensException or KeyNotFoundException or FormatException or System.Text.Json.JsonException)
        {
            return null;
        }
    }

    public void SaveDense(long seed, GeneratedSample sample) =>
        SafeTensorsWriter.Save(_folder.CellPath(DenseId(seed), ".safetensors"), new Dictionary<string, Tensor> { ["latents"] = sample.Latents, ["video"] = sample.Video });

    public bool Has<T>(string id) where T : class => _folder.LoadJson<T>(id) is not null;

    public T? Load<T>(string id) where T : class => _folder.LoadJson<T>(id);

    public T Get<T>(string id) where T : class =>
        _folder.LoadJson<T>(id) ?? throw new VDiTLensException($"{_folder.CellPath(id, ".json")}: the cell is missing or unreadable");

    public void Save<T>(string id, T value) => _folder.SaveJson(id, value);
}

/// <summary>A development seed's proxy pass: per (layer, level) each prompt's velocity change, and the temperature sums of its trajectory.</summary>
public sealed record ProxyCellResult(IReadOnlyList<ProxyLayerLevel> Cells, IReadOnlyList<TemperatureSums> Temperatures, int Forwards);

public sealed record ProxyLayerLevel(int Layer, double Level, IReadOnlyList<double> PerItem);

/// <summary>A development seed's temperature calibration on its dense generation (ranking by generations).</summary>
public sealed record CalibrationCellResult(IReadOnlyList<TemperatureSums> Temperatures);
