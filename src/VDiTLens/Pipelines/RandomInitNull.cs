using VDiTLens.Models.Common;
using VDiTLens.Runtime;

namespace VDiTLens.Pipelines;

/// <summary>
/// A pipeline whose transformer (both experts of a Wan2.2 A14B) has a fresh default initialisation, everything else
/// (text encoder, scheduler, VAE) as loaded: the null model of the structure study. Attention patterns that the null
/// shows too come from the architecture (positions, rotary embeddings), not from training.
/// </summary>
public static class RandomInitNull
{
    public static ITextToVideoPipeline Load(string path, ComputeOptions options, long seed)
    {
        var pipeline = TextToVideoPipelines.Load(path, options);
        try
        {
            TransformerReinitialisation.Apply(pipeline.Transformer, pipeline.TransformerFolder, pipeline.Options, seed);
            if (pipeline is WanPipeline { Experts.Transformer2: { } second } wan)
                TransformerReinitialisation.Apply(second, wan.Folder.Transformer2!, pipeline.Options, seed + 1);
            return pipeline;
        }
        catch
        {
            pipeline.Dispose();
            throw;
        }
    }

    /// <summary>How the report names the null of <paramref name="model"/>.</summary>
    public static string Describe(string model, long seed) => $"random-init null of {model} (seed {seed})";
}
