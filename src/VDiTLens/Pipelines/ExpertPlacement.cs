namespace VDiTLens.Pipelines;

/// <summary>Where the two experts of a Wan2.2 A14B pipeline live between their turns.</summary>
public enum ExpertPlacement
{
    /// <summary><see cref="BothOnDevice"/> when both fit the device (<see cref="ExpertPlacementPolicy"/>), else <see cref="ActiveOnly"/>.</summary>
    Auto,
    /// <summary>Both experts on the compute device for the whole generation.</summary>
    BothOnDevice,
    /// <summary>Only the expert in use on the compute device; the other waits in CPU memory and they swap at the boundary.</summary>
    ActiveOnly,
}

/// <summary>
/// The rule <see cref="ExpertPlacement.Auto"/> applies: both experts stay on a CUDA device when twice an expert's
/// weights, the other components' weights (text encoder, VAE) and a working reserve of 15 % of the device's memory
/// (activations, attention workspaces, the allocator's slack) fit its total memory; otherwise only the active one does.
/// On the CPU both always stay (nothing to move to).
/// </summary>
public static class ExpertPlacementPolicy
{
    public const double ReserveFraction = 0.15;

    public static bool BothFit(long expertBytes, long otherBytes, long deviceBytes) =>
        2 * expertBytes + otherBytes + (long)(ReserveFraction * deviceBytes) <= deviceBytes;
}
