using VDiTLens.Models.Wan;
using VDiTLens.Procedural;
using VDiTLens.Text;

namespace VDiTLens.Training;

/// <summary>
/// Sizes of the embedded tiny model: a pixel-space Wan transformer (3 channels, patch 1×4×4, so a 9×32×32 clip is
/// 9·8·8 = 576 tokens) conditioned on a tiny UMT5 encoder over the procedural caption vocabulary.
/// <see cref="Small"/> is the 12-layer, width-384 model of the multi-object scenes.
/// </summary>
public sealed record TinyModelConfig
{
    /// <summary>
    /// 12 layers, 6 heads × 64 (width 384), FFN 1536, a 2-layer UMT5 of width 128 over the whole caption vocabulary:
    /// about 30 M parameters (60 MB in bf16). On 17 × 48 × 48 clips it sees 17·12·12 = 2,448 tokens.
    /// </summary>
    public static TinyModelConfig Small { get; } = new()
    {
        Heads = 6, HeadDim = 64, Layers = 12, FfnDim = 1536, FreqDim = 256,
        TextDModel = 128, TextHeads = 4, TextLayers = 2, TextFfnDim = 512, VocabSize = CaptionVocabulary.Default.Size,
    };

    public int Heads { get; init; } = 4;
    public int HeadDim { get; init; } = 32;
    public int Layers { get; init; } = 4;
    public int FfnDim { get; init; } = 512;
    public int FreqDim { get; init; } = 64;
    public int[] PatchSize { get; init; } = { 1, 4, 4 };
    public int TextDModel { get; init; } = 64;
    public int TextHeads { get; init; } = 4;
    public int TextLayers { get; init; } = 2;
    public int TextFfnDim { get; init; } = 256;
    public int Channels { get; init; } = 3;
    /// <summary>Text-encoder embedding rows: the first ids of <see cref="CaptionVocabulary"/> the model knows.</summary>
    public int VocabSize { get; init; } = CaptionVocabulary.SingleObjectSize;
    /// <summary>How the clip enters the transformer (<see cref="TrainingArm"/>): plain, frame0 or bos.</summary>
    public string Arm { get; init; } = TrainingArm.Plain;

    public WanConfig Transformer => new()
    {
        patch_size = PatchSize,
        num_attention_heads = Heads,
        attention_head_dim = HeadDim,
        in_channels = Channels,
        out_channels = Channels,
        text_dim = TextDModel,
        freq_dim = FreqDim,
        ffn_dim = FfnDim,
        num_layers = Layers,
        cross_attn_norm = true,
        qk_norm = "rms_norm_across_heads",
        eps = 1e-6,
        rope_max_seq_len = 1024,
    };

    public T5EncoderConfig TextEncoder => new()
    {
        model_type = "umt5",
        vocab_size = VocabSize,
        d_model = TextDModel,
        d_kv = TextDModel / TextHeads,
        d_ff = TextFfnDim,
        num_layers = TextLayers,
        num_heads = TextHeads,
        relative_attention_num_buckets = 32,
        relative_attention_max_distance = 128,
        layer_norm_epsilon = 1e-6,
        feed_forward_proj = "gated-gelu",
    };
}
