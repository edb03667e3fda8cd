using VDiTLens.Models.Common;

namespace VDiTLens.Schedulers;

/// <summary>Builds the scheduler named by a <c>scheduler_config.json</c>'s <c>_class_name</c>.</summary>
public static class SchedulerLoader
{
    private static readonly Dictionary<string, Func<ConfigReader, IScheduler>> Classes = new()
    {
        ["FlowMatchEulerDiscreteScheduler"] = r => new FlowMatchEulerDiscreteScheduler(FlowMatchEulerDiscreteConfig.Read(r)),
        ["UniPCMultistepScheduler"] = r => new UniPCMultistepScheduler(UniPCMultistepConfig.Read(r)),
        ["CogVideoXDDIMScheduler"] = r => new CogVideoXDDIMScheduler(CogVideoXSchedulerConfig.Read(r)),
        ["CogVideoXDPMScheduler"] = r => new CogVideoXDPMScheduler(CogVideoXSchedulerConfig.Read(r)),
    };

    public static IReadOnlyCollection<string> SupportedClasses => Classes.Keys;

    /// <summary>
    /// <paramref name="path"/>: a scheduler folder, its <c>scheduler_config.json</c>, or a pipeline folder.
    /// </summary>
    public static IScheduler Load(string path)
    {
        var config = SchedulerConfigFile.Read(path);
        string? className = config.Get<string?>("_class_name", null);
        if (className is null)
            throw new VDiTLensException($"{config.File}: no '_class_name' field; cannot tell which scheduler this is");
        if (!Classes.TryGetValue(className, out var build))
            throw new VDiTLensException(
                $"{config.File}: _class_name '{className}' is not supported (supported: {string.Join(", ", Classes.Keys)}); " +
                "change the pipeline's scheduler to one of these");
        return build(config);
    }
}
