namespace VDiTLens.Pipelines;

/// <summary>
/// The size checks of a pipeline folder's components, made when it is opened: a folder assembled from different
/// models fails there, naming both configs' fields, rather than inside a forward.
/// </summary>
internal static class ComponentSizes
{
    /// <summary>Throws unless the field <paramref name="a"/> (as "vae/config.json latent_channels") equals the field <paramref name="b"/>.</summary>
    public static void Require(string folder, string a, int va, string b, int vb)
    {
        if (va != vb)
            throw new VDiTLensException($"component sizes do not match: {a} = {va} but {b} = {vb} ({folder}); the components come from different models");
    }

    /// <summary>The T5 encoder's width against the transformer's text input, the VAE's latent channels against the transformer's input and output.</summary>
    public static void RequireT5AndLatents(string folder, int dModel, int textEmbedDim, int latentChannels, int inChannels, int outChannels)
    {
        Require(folder, "text_encoder/config.json d_model", dModel, "transformer/config.json text_embed_dim", textEmbedDim);
        Require(folder, "vae/config.json latent_channels", latentChannels, "transformer/config.json in_channels", inChannels);
        Require(folder, "vae/config.json latent_channels", latentChannels, "transformer/config.json out_channels", outChannels);
    }
}
