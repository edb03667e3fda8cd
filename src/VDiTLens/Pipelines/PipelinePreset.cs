using System.Text.Json.Nodes;

namespace VDiTLens.Pipelines;

/// <summary>
/// One component of a <see cref="PipelinePreset"/>: its model_index.json entry (<paramref name="Library"/>,
/// <paramref name="ClassName"/>) and either its config (<paramref name="ConfigJson"/>, without <c>_class_name</c>) or,
/// for a tokenizer, the fixture folder its files are copied from (<paramref name="TokenizerFixture"/>, relative to the
/// fixtures folder; ids do not matter for speed).
/// </summary>
public sealed record PresetComponent(string Name, string Library, string ClassName, string? ConfigJson = null, string? TokenizerFixture = null)
{
    public static PresetComponent Diffusers(string name, string className, string configJson) => new(name, "diffusers", className, configJson);
    public static PresetComponent Transformers(string name, string className, string configJson) => new(name, "transformers", className, configJson);
    public static PresetComponent Tokenizer(string name, string className, string fixture) => new(name, "transformers", className, TokenizerFixture: fixture);
}

/// <summary>
/// A text-to-video pipeline of any family described by its components' configs only (no weights), plus the request it
/// is benchmarked at (diffusers' defaults or documented example for that checkpoint). <see cref="WriteFolder"/> lays it
/// out as a diffusers pipeline folder, which the family's <c>CreateRandom</c> (<see cref="TextToVideoPipelines.CreateRandom"/>)
/// turns into a pipeline with random weights, and which the reference script
/// <c>scripts/reference/bench_pipeline.py</c> builds diffusers' pipeline from.
/// </summary>
/// <param name="EmbeddedGuidance">True where <see cref="GuidanceScale"/> is the transformer's distilled guidance input
/// (HunyuanVideo): one transformer call per step and no negative prompt; false: classifier-free guidance.</param>
public sealed record PipelinePreset(
    string Name, string Checkpoint, string PipelineClass, IReadOnlyList<PresetComponent> Components,
    int Height, int Width, int Frames, int Steps, int MaxSequenceLength, double GuidanceScale,
    bool UseDynamicCfg = false, bool EmbeddedGuidance = false)
{
    /// <summary>The request file <see cref="WriteFolder"/> adds beside model_index.json, for the reference script.</summary>
    public const string RequestFile = "bench_request.json";

    /// <summary>Whether a negative prompt is encoded and a second (unconditional) branch runs each step.</summary>
    public bool ClassifierFreeGuidance => !EmbeddedGuidance && GuidanceScale > 1.0;

    /// <summary>Whether the pipeline decodes with spatial VAE tiling (Mochi-1 and HunyuanVideo, as diffusers' examples enable it).</summary>
    public bool VaeTiling => PipelineClass is MochiPipelineFolder.PipelineClass or HunyuanVideoPipelineFolder.PipelineClass;

    /// <summary>
    /// Writes model_index.json, each component's config, the tokenizers' files (copied from
    /// <paramref name="fixturesDirectory"/>) and <see cref="RequestFile"/> into <paramref name="directory"/> (created).
    /// Returns the directory.
    /// </summary>
    public string WriteFolder(string directory, string fixturesDirectory)
    {
        var index = new JsonObject { ["_class_name"] = PipelineClass };
        foreach (var c in Components) index[c.Name] = new JsonArray(c.Library, c.ClassName);
        Write(directory, "model_index.json", index);
        foreach (var c in Components)
        {
            string folder = Path.Combine(directory, c.Name);
            if (c.TokenizerFixture is { } fixture)
            {
                string source = Path.Combine(fixturesDirectory, fixture);
                var files = Directory.Exists(source) ? Directory.GetFiles(source) : Array.Empty<string>();
                if (!files.Any(f => Path.GetFileName(f) is "spiece.model" or "tokenizer.json" or "vocab.json"))
                    throw new VDiTLensException($"{source}: no tokenizer files (spiece.model, tokenizer.json or vocab.json) for preset {Name}'s {c.Name}; the fixtures folder must hold {fixture}");
                Directory.CreateDirectory(folder);
                foreach (var file in files) File.Copy(file, Path.Combine(folder, Path.GetFileName(file)), overwrite: true);
                continue;
            }
            var config = JsonNode.Parse(c.ConfigJson!)!.AsObject();
            config["_class_name"] = c.ClassName;
            Write(folder, c.Name == "scheduler" ? "scheduler_config.json" : "config.json", config);
        }
        Write(directory, RequestFile, new JsonObject
        {
            ["preset"] = Name, ["checkpoint"] = Checkpoint, ["height"] = Height, ["width"] = Width, ["num_frames"] = Frames,
            ["num_inference_steps"] = Steps, ["max_sequence_length"] = MaxSequenceLength, ["guidance_scale"] = GuidanceScale,
            ["use_dynamic_cfg"] = UseDynamicCfg, ["embedded_guidance"] = EmbeddedGuidance, ["vae_tiling"] = VaeTiling,
        });
        return directory;
    }

    private static void Write(string directory, string file, JsonObject json)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, file), json.ToJsonString());
    }
}
