using static TorchSharp.torch;

namespace VDiTLens.Pipelines;

/// <summary>One denoising step's outputs, detached from any dispose scope; disposing frees all but a taken latent.</summary>
internal sealed class StepTensors(Tensor latents, Tensor guided, Tensor cond, Tensor? uncond) : IDisposable
{
    private bool _taken;
    public Tensor Latents { get; } = latents;
    public Tensor Guided { get; } = guided;
    public Tensor Cond { get; } = cond;
    public Tensor? Uncond { get; } = uncond;

    public Tensor TakeLatents()
    {
        _taken = true;
        return Latents;
    }

    public void Dispose()
    {
        if (!ReferenceEquals(Guided, Cond)) Guided.Dispose();
        Cond.Dispose();
        Uncond?.Dispose();
        if (!_taken) Latents.Dispose();
    }
}
