using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Models.Wan;
using static TorchSharp.torch;

namespace VDiTLens.Pipelines;

/// <summary>
/// The denoiser(s) of a Wan pipeline: one transformer, or the two experts of Wan2.2 A14B (<c>transformer</c> for
/// high noise, <c>transformer_2</c> for low noise) sharing one seam and one set of block hooks. With
/// <see cref="ActiveOnly"/> the expert not in use waits in CPU memory and <see cref="Activate"/> swaps them.
/// </summary>
public sealed class WanExperts : IDisposable
{
    public const string Second = "transformer_2";

    private readonly Device _device;

    public WanTransformer3DModel Transformer { get; }
    public WanTransformer3DModel? Transformer2 { get; }

    /// <summary>Whether only the active expert is kept on the compute device.</summary>
    public bool ActiveOnly { get; }

    public WanExperts(WanTransformer3DModel transformer, WanTransformer3DModel? transformer2, Device device, bool activeOnly)
    {
        Transformer = transformer;
        Transformer2 = transformer2;
        _device = device;
        ActiveOnly = activeOnly && transformer2 is not null;
    }

    /// <summary>The expert named <paramref name="expert"/> (<see cref="AttentionRunState.Expert"/>), on the compute device.</summary>
    public WanTransformer3DModel Activate(string expert)
    {
        var model = expert switch
        {
            AttentionRunState.MainExpert => Transformer,
            Second => Transformer2 ?? throw new VDiTLensException($"expert '{Second}' requested but this pipeline has one transformer"),
            _ => throw new VDiTLensException($"unknown expert '{expert}' (use {AttentionRunState.MainExpert} or {Second})"),
        };
        if (ActiveOnly && !OnDevice(model))
        {
            var other = ReferenceEquals(model, Transformer) ? Transformer2! : Transformer;
            other.to(torch.CPU);   // first make room
            model.to(_device);
        }
        return model;
    }

    /// <summary>Where each expert's weights are now (for tests and logs).</summary>
    public Device DeviceOf(string expert) =>
        (expert == Second ? Transformer2! : Transformer).parameters().First().device;

    /// <summary>Bytes of an expert's weights.</summary>
    public static long Bytes(nn.Module model) => model.parameters().Sum(p => p.numel() * p.element_size());

    private bool OnDevice(nn.Module model)
    {
        var d = model.parameters().First().device;
        return d.type == _device.type && (d.index == _device.index || d.index < 0 || _device.index < 0);
    }

    public void Dispose()
    {
        Transformer.Dispose();
        Transformer2?.Dispose();
    }
}
