using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Models.Wan;
using VDiTLens.Schedulers;
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
    /// <summary>Prefix of the weights a training arm adds beside the transformer (not part of the pipeline).</summary>
    public const string ArmPrefix = "arm.";

    public TinyModelConfig Config { get; }
    public Device Device { get; }
    public WanTransformer3DModel Transformer { get; }
    public T5EncoderModel TextEncoder { get; }
    /// <summary>Frame 0's own per-patch linear map (<see cref="TrainingArm.Frame0"/>); null in the other arms.</summary>
    public Linear? Frame0Map { get; }

    public TinyModel(TinyModelConfig config, Device device, long seed)
    {
        Config = config;
        Device = device;
        torch.manual_seed(seed);
        Transformer = new WanTransformer3DModel(config.Transformer, device, ScalarType.Float32);
        TextEncoder = new T5EncoderModel(config.TextEncoder, device, ScalarType.Float32);
        TrainingArm.Validate(config.Arm);
        if (config.Arm == TrainingArm.Frame0)
        {
            int patch = PatchVolume;
            Frame0Map = nn.Linear(patch, patch, hasBias: true, device: device);
            using var _ = torch.no_grad();
            Frame0Map.weight!.copy_(torch.eye(patch, device: device));
            Frame0Map.bias!.zero_();
        }
        InitialiseOutputToZero();
    }

    private int PatchVolume => Config.Channels * Config.PatchSize[0] * Config.PatchSize[1] * Config.PatchSize[2];

    /// <summary>Every trainable parameter with its prefixed checkpoint name, in a fixed order.</summary>
    public IReadOnlyList<(string Name, Parameter Parameter)> NamedParameters =>
        Transformer.named_parameters().Select(p => (TransformerPrefix + p.name, p.parameter))
            .Concat(TextEncoder.named_parameters().Select(p => (TextEncoderPrefix + p.name, p.parameter)))
            .Concat(Frame0Map is null ? [] : Frame0Map.named_parameters().Select(p => (ArmPrefix + "frame0." + p.name, p.parameter)))
            .ToList();

    public long ParameterCount => NamedParameters.Sum(p => p.Parameter.numel());

    public void Train(bool on)
    {
        Transformer.train(on);
        TextEncoder.train(on);
        Frame0Map?.train(on);
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

    /// <summary>Predicted velocity for noisy clips [B, 3, F, H, W] at sigma [B], through the configured <see cref="TrainingArm"/>.</summary>
    public Tensor Predict(Tensor noisy, Tensor sigma, Tensor text)
    {
        var timestep = FlowMatching.Timestep(sigma);
        if (Config.Arm == TrainingArm.Bos)
        {
            using var scope = torch.NewDisposeScope();
            var input = torch.cat(new[] { BosFrame(noisy), noisy }, 2);
            return Transformer.Forward(input, timestep, text).narrow(2, 1, noisy.shape[2]).MoveToOuterDisposeScope();
        }
        if (Frame0Map is not null)
        {
            using var scope = torch.NewDisposeScope();
            var input = torch.cat(new[] { MapFrame0(noisy.narrow(2, 0, 1)), noisy.narrow(2, 1, noisy.shape[2] - 1) }, 2);
            return Transformer.Forward(input, timestep, text).MoveToOuterDisposeScope();
        }
        return Transformer.Forward(noisy, timestep, text);
    }

    /// <summary>The constant frame of <see cref="TrainingArm.Bos"/>, [B, C, 1, H, W] of zeros like <paramref name="clips"/>.</summary>
    public static Tensor BosFrame(Tensor clips) =>
        torch.zeros(new[] { clips.shape[0], clips.shape[1], 1, clips.shape[3], clips.shape[4] }, clips.dtype, clips.device);

    /// <summary>Frame 0 [B, C, 1, H, W] through <see cref="Frame0Map"/>, patch by patch (patch 1 × p × q).</summary>
    private Tensor MapFrame0(Tensor frame)
    {
        long b = frame.shape[0], c = frame.shape[1], h = frame.shape[3], w = frame.shape[4];
        int p = Config.PatchSize[1], q = Config.PatchSize[2];
        var patches = frame.reshape(b, c, h / p, p, w / q, q).permute(0, 2, 4, 1, 3, 5).reshape(b, h / p, w / q, c * p * q);
        return Frame0Map!.forward(patches).reshape(b, h / p, w / q, c, p, q).permute(0, 3, 1, 4, 2, 5).reshape(b, c, 1, h, w);
    }

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
        Frame0Map?.Dispose();
    }
}
