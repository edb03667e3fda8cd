using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Schedulers;

/// <summary>Where a stochastic scheduler draws its Gaussian noise from (an RNG, or stored draws in tests).</summary>
public interface INoiseSource
{
    /// <summary>A standard normal tensor shaped, typed and placed like <paramref name="like"/>.</summary>
    Tensor Next(Tensor like);
}

/// <summary>Draws from <c>torch.randn</c> with an optional generator (diffusers' <c>randn_tensor</c> on the sample's device).</summary>
public sealed class TorchNoiseSource(Generator? generator = null) : INoiseSource
{
    public Tensor Next(Tensor like) => torch.randn(like.shape, like.dtype, like.device, generator: generator);
}
