using System.Text.Json.Nodes;
using TorchSharp;
using VDiTLens.IO;
using static TorchSharp.torch;

namespace VDiTLens.Benchmarks;

/// <summary>
/// Full-size configurations and inputs of the four families, as the reference benchmark script
/// (bench_diffusers.py) builds them: same config.json fields, same resolutions, same input shapes.
/// </summary>
public sealed record BenchmarkPreset(string Name, string ClassName, string ConfigJson, string Resolution,
    Func<Device, ScalarType, Dictionary<string, Tensor>> Inputs)
{
    public static IReadOnlyList<string> Names => All.Select(p => p.Name).ToList();

    public static BenchmarkPreset ByName(string name) =>
        All.FirstOrDefault(p => p.Name == name) ?? throw new VDiTLensException($"unknown preset '{name}' (use {string.Join(", ", Names)})");

    /// <summary>Writes the config to a folder so the model is built through the same config reader as a checkpoint.</summary>
    public ModelFolder ConfigFolder()
    {
        string dir = Path.Combine(Path.GetTempPath(), "vditlens-preset-" + Name + "-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        var json = JsonNode.Parse(ConfigJson)!.AsObject();
        json["_class_name"] = ClassName;
        File.WriteAllText(Path.Combine(dir, "config.json"), json.ToJsonString());
        return ModelFolder.Open(dir);
    }

    private const string Wan14BConfig = """{"patch_size":[1,2,2],"num_attention_heads":40,"attention_head_dim":128,"in_channels":16,"out_channels":16,"text_dim":4096,"freq_dim":256,"ffn_dim":13824,"num_layers":40,"cross_attn_norm":true,"qk_norm":"rms_norm_across_heads","eps":1e-6,"rope_max_seq_len":1024}""";
    private const string HunyuanVideoConfig = """{"in_channels":16,"out_channels":16,"num_attention_heads":24,"attention_head_dim":128,"num_layers":20,"num_single_layers":40,"num_refiner_layers":2,"mlp_ratio":4.0,"patch_size":2,"patch_size_t":1,"qk_norm":"rms_norm","guidance_embeds":true,"text_embed_dim":4096,"pooled_projection_dim":768,"rope_theta":256.0,"rope_axes_dim":[16,56,56]}""";

    private static Tensor Randn(long[] shape, Device d, ScalarType t) => torch.randn(shape, dtype: t, device: d);

    private static readonly BenchmarkPreset[] All =
    {
        new("wan-1.3b", "WanTransformer3DModel",
            """{"patch_size":[1,2,2],"num_attention_heads":12,"attention_head_dim":128,"in_channels":16,"out_channels":16,"text_dim":4096,"freq_dim":256,"ffn_dim":8960,"num_layers":30,"cross_attn_norm":true,"qk_norm":"rms_norm_across_heads","eps":1e-6,"rope_max_seq_len":1024}""",
            "480×832, 81 frames (latent 21×60×104)", WanInputs),
        new("wan-14b", "WanTransformer3DModel", Wan14BConfig,
            "480×832, 81 frames (latent 21×60×104)", WanInputs),
        // One expert of Wan2.2 T2V-A14B (each has Wan2.1-14B's config) at 720p: 75,600 video tokens.
        new("wan-14b-720p", "WanTransformer3DModel", Wan14BConfig,
            "720×1280, 81 frames (latent 21×90×160)", (d, t) => WanInputsAt(21, 90, 160, d, t)),
        // Wan2.2 TI2V-5B at its default 704×1280, 121 frames (the Wan2.2 VAE: 48 channels, 16× spatial, 4× temporal),
        // with per-token timesteps (expand_timesteps): the first latent frame at t = 0, as an image-conditioned call.
        new("wan2.2-ti2v-5b", "WanTransformer3DModel",
            """{"patch_size":[1,2,2],"num_attention_heads":24,"attention_head_dim":128,"in_channels":48,"out_channels":48,"text_dim":4096,"freq_dim":256,"ffn_dim":14336,"num_layers":30,"cross_attn_norm":true,"qk_norm":"rms_norm_across_heads","eps":1e-6,"rope_max_seq_len":1024}""",
            "704×1280, 121 frames (latent 48×31×44×80, per-token timesteps)",
            (d, t) =>
            {
                long frameTokens = 22 * 40, tokens = 31 * frameTokens;
                var timestep = torch.full(new long[] { 1, tokens }, 999L, dtype: ScalarType.Int64, device: d);
                timestep[0, TensorIndex.Slice(0, frameTokens)] = torch.tensor(0L);
                return new()
                {
                    ["hidden_states"] = Randn(new long[] { 1, 48, 31, 44, 80 }, d, t),
                    ["timestep"] = timestep,
                    ["encoder_hidden_states"] = Randn(new long[] { 1, 512, 4096 }, d, t),
                };
            }),
        new("cogvideox-5b", "CogVideoXTransformer3DModel",
            """{"num_attention_heads":48,"attention_head_dim":64,"in_channels":16,"out_channels":16,"time_embed_dim":512,"text_embed_dim":4096,"num_layers":42,"sample_width":90,"sample_height":60,"sample_frames":49,"patch_size":2,"patch_size_t":null,"max_text_seq_length":226,"use_rotary_positional_embeddings":true,"use_learned_positional_embeddings":false}""",
            "480×720, 49 frames (latent 13×60×90)",
            (d, t) => new()
            {
                ["hidden_states"] = Randn(new long[] { 1, 13, 16, 60, 90 }, d, t),
                ["encoder_hidden_states"] = Randn(new long[] { 1, 226, 4096 }, d, t),
                ["timestep"] = torch.tensor(new long[] { 999 }, device: d),
            }),
        new("mochi-10b", "MochiTransformer3DModel",
            """{"patch_size":2,"num_attention_heads":24,"attention_head_dim":128,"num_layers":48,"pooled_projection_dim":1536,"in_channels":12,"qk_norm":"rms_norm","text_embed_dim":4096,"time_embed_dim":256,"activation_fn":"swiglu","max_sequence_length":256}""",
            "480×848, 163 frames (latent 28×60×106)",
            (d, t) =>
            {
                var mask = torch.zeros(1, 256, dtype: ScalarType.Bool, device: d);
                mask[0, TensorIndex.Slice(0, 64)] = torch.tensor(true);
                return new()
                {
                    ["hidden_states"] = Randn(new long[] { 1, 12, 28, 60, 106 }, d, t),
                    ["encoder_hidden_states"] = Randn(new long[] { 1, 256, 4096 }, d, t),
                    ["timestep"] = torch.tensor(new float[] { 999f }, device: d).to(t),
                    ["encoder_attention_mask"] = mask,
                };
            }),
        new("hunyuan-13b", "HunyuanVideoTransformer3DModel",
            HunyuanVideoConfig,
            "544×960, 129 frames (latent 33×68×120)", (d, t) => HunyuanInputsAt(33, 68, 120, d, t)),
        new("hunyuan-13b-720p", "HunyuanVideoTransformer3DModel", HunyuanVideoConfig,
            "720×1280, 129 frames (latent 33×90×160)", (d, t) => HunyuanInputsAt(33, 90, 160, d, t)),
    };

    private static Dictionary<string, Tensor> WanInputs(Device d, ScalarType t) => WanInputsAt(21, 60, 104, d, t);

    private static Dictionary<string, Tensor> WanInputsAt(long frames, long height, long width, Device d, ScalarType t) => new()
    {
        ["hidden_states"] = Randn(new long[] { 1, 16, frames, height, width }, d, t),
        ["timestep"] = torch.tensor(new long[] { 500 }, device: d),
        ["encoder_hidden_states"] = Randn(new long[] { 1, 512, 4096 }, d, t),
    };

    private static Dictionary<string, Tensor> HunyuanInputsAt(long frames, long height, long width, Device d, ScalarType t)
    {
        var mask = torch.zeros(1, 256, dtype: t, device: d);
        mask[0, TensorIndex.Slice(0, 64)] = torch.tensor(1.0f);
        return new()
        {
            ["hidden_states"] = Randn(new long[] { 1, 16, frames, height, width }, d, t),
            ["timestep"] = torch.tensor(new float[] { 999f }, device: d),
            ["encoder_hidden_states"] = Randn(new long[] { 1, 256, 4096 }, d, t),
            ["encoder_attention_mask"] = mask,
            ["pooled_projections"] = Randn(new long[] { 1, 768 }, d, t),
            ["guidance"] = torch.tensor(new float[] { 6000f }, device: d).to(t),
        };
    }
}
