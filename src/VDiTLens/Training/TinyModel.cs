using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Models.Wan;
using VDiTLens.Text;
using static TorchSharp.torch;

namespace VDiTLens.Training;

/// <summary>
/// The trainable pair: the pixel-space Wan transformer and its tiny UMT5 encoder, trained jointly. Parameter names are
/// the checkpoints' own, prefixed <c>transformer.</c> / <c>text_encoder.</c> in <see cref="NamedParameters"/>.
/// </summary>
public sealed class TinyModel : IDisposable
{
    public const string TransformerPrefix = "transformer.";
    public const string TextEncoderPrefix = "text_encoder.";

    public TinyModelConfig Config { get; }
    public Device Device { get; }
    public WanTransformer3DModel Transformer { get; }
    public T5EncoderModel TextEncoder { get; }

    public TinyModel(TinyModelConfig config, Device device, long seed)
    {
        Config = config;
        Device = device;
        torch.manual_seed(seed);
        Transformer = new WanTransformer3DModel(config.Transformer, device, ScalarType.Float32);
        TextEncoder = new T5EncoderModel(config.TextEncoder, device, ScalarType.Float32);
        InitialiseOutputToZero();
    }

    /// <summary>Every trainable parameter with its prefixed checkpoint name, in a fixed order.</summary>
    public IReadOnlyList<(string Name, Parameter Parameter)> NamedParameters =>
        Transformer.named_parameters().Select(p => (TransformerPrefix + p.name, p.parameter))
            .Concat(TextEncoder.named_parameters().Select(p => (TextEncoderPrefix + p.name, p.parameter)))
            .ToList();

    public long ParameterCount => NamedParameters.Sum(p => p.Parameter.numel());

    public void Train(bool on)
    {
        Transformer.train(on);
        TextEncoder.train(on);
    }

    /// <summary>
    /// Text states for the transformer as WanPipeline builds them: encoder output, rows past each caption's length set to
    /// zero, then zero-padded to <paramref name="textLength"/> rows (≥ the token length).
    /// </summary>
    public Tensor EncodeText(Tensor ids, Tensor mask, int textLength)
    {
        using var scope = torch.NewDisposeScope();
        var hidden = PromptEmbeddings.ZeroPastLength(TextEncoder.Encode(ids.to(Device), mask.to(Device)), mask);
        long pad = textLength - hidden.shape[1];
        if (pad < 0) throw new VDiTLensException($"text length {textLength} is shorter than the {hidden.shape[1]} caption tokens");
        if (pad > 0) hidden = nn.functional.pad(hidden, new long[] { 0, 0, 0, pad });
        return hidden.MoveToOuterDisposeScope();
    }

    /// <summary>Predicted velocity for noisy clips [B, 3, F, H, W] at sigma [B].</summary>
    public Tensor Predict(Tensor noisy, Tensor sigma, Tensor text) =>
        Transformer.Forward(noisy, FlowMatching.Timestep(sigma), text);

    /// <summary>
    /// The final projection starts at zero so the initial prediction is 0 (a standard DiT choice that keeps the
    /// first steps stable); everything else keeps PyTorch's default initialisation.
    /// </summary>
    private void InitialiseOutputToZero()
    {
        using var _ = torch.no_grad();
        Transformer.proj_out.weight!.zero_();
        Transformer.proj_out.bias!.zero_();
    }

    public void Dispose()
    {
        Transformer.Dispose();
        TextEncoder.Dispose();
    }
}
