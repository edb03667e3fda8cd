using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Pipelines;
using static TorchSharp.torch;

namespace VDiTLens.Studies.Structure;

/// <summary>Source, plain target and edited target videos [F, H, W, 3] in [0, 1] from one lockstep generation.</summary>
public sealed record EditVideos(Tensor Source, Tensor Target, Tensor Edited) : IDisposable
{
    public void Dispose()
    {
        Source.Dispose();
        Target.Dispose();
        Edited.Dispose();
    }
}

/// <summary>
/// Runs an attention-map edit as ONE batched generation of three prompts: row 0 the source, row 1 the target without
/// transfer, row 2 the target with <see cref="LockstepTransfer"/> from row 0. Rows 1 and 2 start from the same noise
/// (the source's, or the target seed's with <see cref="TargetNoise.Independent"/>), so row 1 is the paired control of
/// row 2. Rows 0 and 1 are untouched by the transfer, so they are the plain generations of the two prompts.
/// </summary>
public static class AttentionEdit
{
    public const int SourceRow = 0, TargetRow = 1, EditedRow = 2;

    public static EditVideos Run(ITextToVideoPipeline pipeline, EditOptions o, IProgress<GenerationProgress>? progress = null,
        CancellationToken cancellation = default)
    {
        var request = new GenerationRequest
        {
            Prompts = new[] { o.SourcePrompt, o.TargetPrompt, o.TargetPrompt },
            NegativePrompt = o.NegativePrompt, GuidanceScale = o.Guidance, Steps = o.Steps, Seed = o.Seed,
            Frames = o.Frames, Height = o.Height, Width = o.Width, MaxSequenceLength = o.MaxSequenceLength, Image = o.Image,
            BatchGuidance = o.BatchGuidance, Progress = progress, Cancellation = cancellation,
        };
        using var noise = pipeline.InitialLatents(request with { Prompts = new[] { o.SourcePrompt } });
        using var own = o.TargetNoise == TargetNoise.Same ? null : pipeline.InitialLatents(request with { Prompts = new[] { o.TargetPrompt }, Seed = o.TargetSeed });
        var targetNoise = own ?? noise;
        using var shared = torch.cat(new[] { noise, targetNoise, targetNoise }); // every latent layout here is batch-first
        var scope = o.Scope with { Sites = EditSites.Resolve(o.Sites, pipeline.Transformer) };
        var transfer = new LockstepTransfer(3, new[] { (EditedRow, SourceRow) }, scope, o.Branches, o.TransferText);
        Tensor video;
        using (pipeline.Seam.Attach(transfer))
            video = pipeline.Generate(request with { InitialLatents = shared });
        using (video)
            return new EditVideos(video[SourceRow].clone(), video[TargetRow].clone(), video[EditedRow].clone());
    }
}
