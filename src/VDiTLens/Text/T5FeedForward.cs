using TorchSharp;
using TorchSharp.Modules;
using VDiTLens.Models.Common;
using static TorchSharp.torch;

namespace VDiTLens.Text;

/// <summary>
/// T5's <c>DenseReluDense</c>: gated (<c>wi_0</c> activated × <c>wi_1</c>, then <c>wo</c>; T5 v1.1, umT5) or plain
/// (<c>wi</c>, activation, <c>wo</c>; original T5). No biases. <c>wo</c> is kept in float32 when the model runs in
/// half precision (transformers' <c>_keep_in_fp32_modules = ["wo"]</c>) and its input is cast to wo's dtype.
/// </summary>
public sealed class T5FeedForward : nn.Module<Tensor, Tensor>
{
    private readonly string _activation;
    public Linear? wi, wi_0, wi_1;
    public Linear wo;

    public static ScalarType OutputDtype(ScalarType dtype) => dtype is ScalarType.Float16 or ScalarType.BFloat16 ? ScalarType.Float32 : dtype;

    public T5FeedForward(T5EncoderConfig config, Device device, ScalarType dtype) : base("T5DenseActDense")
    {
        _activation = config.Activation;
        if (config.IsGated)
        {
            register_module("wi_0", wi_0 = Layers.Linear(config.d_model, config.d_ff, device, dtype, bias: false));
            register_module("wi_1", wi_1 = Layers.Linear(config.d_model, config.d_ff, device, dtype, bias: false));
        }
        else register_module("wi", wi = Layers.Linear(config.d_model, config.d_ff, device, dtype, bias: false));
        register_module("wo", wo = Layers.Linear(config.d_ff, config.d_model, device, OutputDtype(dtype), bias: false));
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var h = wi is not null
            ? Activations.Apply(_activation, wi.forward(x))
            : Activations.Apply(_activation, wi_0!.forward(x)) * wi_1!.forward(x);
        return wo.forward(h.to(wo.weight!.dtype)).MoveToOuterDisposeScope();
    }
}
