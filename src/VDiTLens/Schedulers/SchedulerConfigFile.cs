using VDiTLens.IO;
using VDiTLens.Models.Common;

namespace VDiTLens.Schedulers;

/// <summary>Locates and reads a diffusers <c>scheduler_config.json</c>.</summary>
public static class SchedulerConfigFile
{
    public const string FileName = "scheduler_config.json";

    /// <summary>
    /// Accepts the json file itself, a folder holding it, or a pipeline folder (its <c>scheduler/</c> component).
    /// </summary>
    public static ConfigReader Read(string path)
    {
        string file = Resolve(path);
        return new ConfigReader(ModelFolder.ReadJsonObject(file), file);
    }

    private static string Resolve(string path)
    {
        if (File.Exists(path)) return path;
        if (!Directory.Exists(path))
            throw new VDiTLensException($"{path}: no such file or folder (expected a scheduler folder with {FileName})");
        if (PipelineFolder.IsPipeline(path))
            path = PipelineFolder.Open(path).ComponentPath("scheduler");
        string file = Path.Combine(path, FileName);
        if (!File.Exists(file))
            throw new VDiTLensException($"{path}: no {FileName} here; pass the pipeline's scheduler/ folder");
        return file;
    }
}
