using VDiTLens.Pipelines;

namespace VDiTLens.Studies.Maps;

/// <summary>Where a map was written and what it cost.</summary>
public sealed record MapResult(MapGeometry Geometry, string TensorPath, string PngPath, string SvgPath, int Forwards);

/// <summary>
/// One attention map of a real generation: denoises with the request (guidance branches as separate calls) until the
/// chosen step has run, captures the chosen call with <see cref="AttentionMapCapture"/>, and writes
/// <c>map.safetensors</c>, <c>map.png</c> and <c>map.svg</c> into the output folder. Steps after the chosen one are not run.
/// </summary>
public static class MapStudy
{
    /// <summary>Transformer forwards the map costs: every step up to the chosen one, times two with guidance.</summary>
    public static int Forwards(GenerationRequest request, MapOptions options) =>
        (options.Step + 1) * (request.GuidanceScale > 1 ? 2 : 1);

    public static MapResult Run(ITextToVideoPipeline pipeline, GenerationRequest request, MapOptions options, string outFolder, bool logScale = true)
    {
        options.Validate();
        if (pipeline.Sites.All(s => s.Name != options.Site))
            throw new VDiTLensException($"map site '{options.Site}' is not an attention site of {pipeline.ClassName} (sites: {string.Join(", ", pipeline.Sites.Select(s => s.Name).Take(8))}{(pipeline.Sites.Count > 8 ? ", …" : "")})");
        if (options.Step >= request.Steps)
            throw new VDiTLensException($"map step {options.Step}: the generation has {request.Steps} steps (0..{request.Steps - 1})");
        if (options.Branch == "uncond" && request.GuidanceScale <= 1)
            throw new VDiTLensException($"map branch uncond: guidance scale {request.GuidanceScale} runs no unconditional branch");
        Directory.CreateDirectory(outFolder);
        var result = new MapResult(null!, Path.Combine(outFolder, "map.safetensors"), Path.Combine(outFolder, "map.png"), Path.Combine(outFolder, "map.svg"), Forwards(request, options));
        using var tensors = new SafeTensorsMapSink(result.TensorPath, options.OutputType);
        var picture = new MapPicture(result.PngPath, result.SvgPath, options.PictureSize, logScale);
        var capture = new AttentionMapCapture(options, tensors, picture);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(request.Cancellation);
        using (pipeline.Seam.Attach(capture))
        {
            try
            {
                var latents = pipeline.Denoise(request with
                {
                    BatchGuidance = false,
                    Cancellation = stop.Token,
                    OnStep = info =>
                    {
                        request.OnStep?.Invoke(info);
                        if (info.Step >= options.Step) stop.Cancel();
                    },
                });
                latents.Dispose();
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested && !request.Cancellation.IsCancellationRequested && capture.Geometry is not null)
            {
            }
        }
        if (capture.Geometry is null)
            throw new VDiTLensException($"map: no attention call at site {options.Site}, step {options.Step}, branch {options.Branch} was seen");
        return result with { Geometry = capture.Geometry };
    }
}
