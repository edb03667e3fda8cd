using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VDiTLens.Models.Common;

/// <summary>Factories for the standard layers, created directly on the target device and dtype.</summary>
public static class Layers
{
    public static Linear Linear(long inFeatures, long outFeatures, Device device, ScalarType dtype, bool bias = true) =>
        nn.Linear(inFeatures, outFeatures, hasBias: bias, device: device, dtype: dtype);
}

/// <summary>LayerNorm computed in float32 whatever the input dtype, result cast back (diffusers' FP32LayerNorm).</summary>
public sealed class Fp32LayerNorm : nn.Module<Tensor, Tensor>
{
    private readonly long _dim;
    private readonly double _eps;
    public Parameter? weight;
    public Parameter? bias;
    public double Eps => _eps;

    public Fp32LayerNorm(long dim, double eps, bool affine, Device device, ScalarType dtype, bool withBias = true) : base("FP32LayerNorm")
    {
        _dim = dim;
        _eps = eps;
        if (affine)
        {
            register_parameter("weight", weight = new Parameter(torch.ones(dim, dtype: dtype, device: device)));
            if (withBias) register_parameter("bias", bias = new Parameter(torch.zeros(dim, dtype: dtype, device: device)));
        }
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var f = ScalarType.Float32;
        var y = nn.functional.layer_norm(x.to(f), new[] { _dim }, weight?.to(f), bias?.to(f), _eps);
        return y.to(x.dtype).MoveToOuterDisposeScope();
    }
}

/// <summary>Activations by diffusers' names.</summary>
public static class Activations
{
    public static Tensor Apply(string name, Tensor x) => name switch
    {
        "gelu" => nn.functional.gelu(x),
        "gelu-approximate" or "gelu_tanh" or "gelu_new" or "gelu_pytorch_tanh" => GeluTanh(x),
        "silu" or "swish" => nn.functional.silu(x),
        "relu" => nn.functional.relu(x),
        _ => throw new VDiTLensException($"activation '{name}' is not supported"),
    };

    /// <summary>GELU with the tanh approximation (TorchSharp's gelu has no approximate argument).</summary>
    public static Tensor GeluTanh(Tensor x)
    {
        // On CUDA in 16-bit types libtorch's own tanh-GELU (one pass, float32 inside) replaces the eight-op chain.
        if (x.device.type == DeviceType.CUDA && Runtime.Cuda.FusedKernels.Enabled && Runtime.Cuda.FusedKernels.IsHalf(x.dtype))
            return x.gelu(TorchSharp.Modules.GELU.Approximate.tanh);
        using var scope = torch.NewDisposeScope();
        var inner = (x + x.pow(3) * 0.044715) * Math.Sqrt(2.0 / Math.PI);
        return (x * 0.5 * (inner.tanh() + 1.0)).MoveToOuterDisposeScope();
    }
}

/// <summary>A Linear followed by an activation, registered as <c>proj</c> (diffusers' GELU/GEGLU-style wrapper).</summary>
public sealed class ProjectedActivation : nn.Module<Tensor, Tensor>
{
    private readonly string _activation;
    public Linear proj;

    public ProjectedActivation(long inFeatures, long outFeatures, string activation, Device device, ScalarType dtype, bool bias = true) : base("ProjectedActivation")
    {
        _activation = activation;
        register_module("proj", proj = Layers.Linear(inFeatures, outFeatures, device, dtype, bias));
    }

    public override Tensor forward(Tensor x)
    {
        using var h = proj.forward(x);
        return Activations.Apply(_activation, h);
    }
}

/// <summary>diffusers' FeedForward: <c>net.0.proj</c> (projection + activation), <c>net.1</c> dropout, <c>net.2</c> output.</summary>
public sealed class FeedForward : nn.Module<Tensor, Tensor>
{
    // Fields are named as in the checkpoint: TorchSharp registers module-typed fields under their field names.
    public ModuleList<nn.Module> net;
    private ProjectedActivation Projection => (ProjectedActivation)net[0];
    private Linear Output => (Linear)net[2];

    public FeedForward(long dim, long innerDim, string activation, Device device, ScalarType dtype, long? outDim = null, bool bias = true) : base("FeedForward")
    {
        net = new ModuleList<nn.Module>(
            new ProjectedActivation(dim, innerDim, activation, device, dtype, bias),
            nn.Identity(),
            Layers.Linear(innerDim, outDim ?? dim, device, dtype, bias));
        register_module("net", net);
    }

    public override Tensor forward(Tensor x)
    {
        using var h = Projection.forward(x);
        return Output.forward(h);
    }
}

/// <summary>diffusers' Timesteps + get_timestep_embedding: sinusoids computed in float32.</summary>
public static class TimestepSinusoids
{
    public static Tensor Embed(Tensor timesteps, int dim, bool flipSinToCos, double downscaleFreqShift, double scale = 1.0, double maxPeriod = 10000)
    {
        using var scope = torch.NewDisposeScope();
        int half = dim / 2;
        var exponent = torch.arange(0, half, dtype: ScalarType.Float32, device: timesteps.device) * (-Math.Log(maxPeriod));
        exponent = exponent / (half - downscaleFreqShift);
        var freqs = exponent.exp();
        var emb = timesteps.to(ScalarType.Float32).unsqueeze(1) * freqs.unsqueeze(0);
        emb = emb * scale;
        emb = torch.cat(new[] { emb.sin(), emb.cos() }, -1);
        if (flipSinToCos) emb = torch.cat(new[] { emb[.., half..], emb[.., ..half] }, -1);
        if (dim % 2 == 1) emb = nn.functional.pad(emb, new long[] { 0, 1, 0, 0 });
        return emb.MoveToOuterDisposeScope();
    }
}

/// <summary>diffusers' TimestepEmbedding: <c>linear_1</c>, activation, <c>linear_2</c>.</summary>
public sealed class TimestepEmbedding : nn.Module<Tensor, Tensor>
{
    public Linear linear_1, linear_2;
    private readonly string _activation;

    public TimestepEmbedding(long inChannels, long embedDim, Device device, ScalarType dtype, string activation = "silu", long? outDim = null) : base("TimestepEmbedding")
    {
        _activation = activation;
        register_module("linear_1", linear_1 = Layers.Linear(inChannels, embedDim, device, dtype));
        register_module("linear_2", linear_2 = Layers.Linear(embedDim, outDim ?? embedDim, device, dtype));
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        return linear_2.forward(Activations.Apply(_activation, linear_1.forward(x))).MoveToOuterDisposeScope();
    }
}
