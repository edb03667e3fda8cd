using VDiTLens.IO;
using static TorchSharp.torch;

namespace VDiTLens.Text;

/// <summary>Loads a CLIP tower (text or vision) from a transformers folder.</summary>
internal static class ClipWeights
{
    /// <summary>
    /// transformers 5 saves CLIP towers without the <paramref name="prefix"/> (<c>text_model.</c>, <c>vision_model.</c>)
    /// that older checkpoints carry; either layout loads. The unused <c>embeddings.position_ids</c> buffer is ignored.
    /// </summary>
    public static void Load(nn.Module model, ModelFolder folder, string prefix)
    {
        ITensorSource weights = folder.OpenWeights();
        if (!weights.Names.Any(n => n.StartsWith(prefix, StringComparison.Ordinal)))
            weights = new PrefixedTensorSource(weights, prefix);
        using (weights)
            WeightLoader.Load(model, weights, ignoreUnexpected: name => name == prefix + "embeddings.position_ids");
        model.eval();
    }
}
