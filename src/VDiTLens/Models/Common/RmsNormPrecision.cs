namespace VDiTLens.Models.Common;

/// <summary>
/// Where an <see cref="RmsNorm"/> rounds: each reference implementation mixes dtypes its own way, and a port must
/// match it bit for bit. The policies agree in float32; they differ for 16-bit inputs or weights and in float64.
/// </summary>
public enum RmsNormPrecision
{
    /// <summary>Everything in the input's dtype (torch.nn.RMSNorm).</summary>
    InputDtype,

    /// <summary>
    /// The mean square in float32 (also for a float64 input); the input times its inverse root in torch's promoted
    /// dtype, cast to the gain's dtype when that is 16-bit, then the gain (diffusers' RMSNorm, transformers' T5LayerNorm).
    /// </summary>
    Float32MeanSquare,

    /// <summary>
    /// The mean square in float32; input, inverse root and gain multiplied in the promoted dtype, cast back to the
    /// input's dtype once at the end (diffusers' MochiRMSNorm).
    /// </summary>
    Float32MeanSquareCastLast,

    /// <summary>
    /// Normalised wholly in float32 (float64 stays float64), cast back to the input's dtype, then the gain
    /// (transformers' LlamaRMSNorm).
    /// </summary>
    Float32NormaliseThenGain,
}
