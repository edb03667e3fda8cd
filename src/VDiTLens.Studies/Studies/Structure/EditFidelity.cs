using VDiTLens.Metrics;

namespace VDiTLens.Studies.Structure;

/// <summary>
/// Measures of an edit that need no evaluator, so they apply to any model: PSNR (dB) and MS-SSIM (frames, at the
/// scales the frame size allows) of the edited video against the source (how much of the source it keeps) and against
/// the plain target (how close it comes to what the target prompt gives without transfer), and of the plain target
/// against the source (the no-transfer baseline of the first pair).
/// </summary>
public sealed record EditFidelity(
    double EditedToSourcePsnr, double EditedToSourceMsSsim,
    double EditedToTargetPsnr, double EditedToTargetMsSsim,
    double TargetToSourcePsnr, double TargetToSourceMsSsim)
{
    /// <summary>The measures' names as the report and the summary files give them.</summary>
    public static readonly string[] Names = { "PSNR to source", "MS-SSIM to source", "PSNR to target", "MS-SSIM to target" };

    public static EditFidelity Measure(EditVideos v)
    {
        var (source, target, edited) = (v.Source.unsqueeze(0), v.Target.unsqueeze(0), v.Edited.unsqueeze(0));
        try
        {
            return new EditFidelity(
                Psnr.MeanOverVideos(source, edited), MsSsim.OfVideo(source, edited),
                Psnr.MeanOverVideos(target, edited), MsSsim.OfVideo(target, edited),
                Psnr.MeanOverVideos(source, target), MsSsim.OfVideo(source, target));
        }
        finally
        {
            source.Dispose();
            target.Dispose();
            edited.Dispose();
        }
    }
}
