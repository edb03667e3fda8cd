using TorchSharp;
using static TorchSharp.torch;
using VDiTLens.Attention;

namespace VDiTLens.Interventions.Sparsity;

public enum HeadPattern { Spatial, Temporal }

/// <summary>
/// Sparse VideoGen's head patterns. Per call, <see cref="Samples"/> evenly spaced video queries are profiled: their
/// dense attention output is compared (squared error summed over batch, samples and channels) with the output
/// under a spatial mask (keys within <see cref="FrameRadius"/> frames of the query's frame) and under a temporal
/// mask (keys at the query's (y, x) in any frame); each head takes the pattern with the smaller error (ties:
/// spatial) and is then computed under it. Text keys are always kept; text queries keep every key. Calls without
/// video on both sides are left dense. The last classification per site is in <see cref="Patterns"/>.
/// </summary>
public sealed class SpatialTemporalSparsifier : Sparsifier
{
    private readonly Dictionary<string, IReadOnlyList<(long Head, HeadPattern Pattern)>> _patterns = new();

    public override string Name => "spatial_temporal";
    public int Samples { get; }
    public int FrameRadius { get; }
    public IReadOnlyDictionary<string, IReadOnlyList<(long Head, HeadPattern Pattern)>> Patterns => _patterns;

    public SpatialTemporalSparsifier(int samples = 32, int frameRadius = 0, IReadOnlyList<long>? keepSinks = null) : base(keepSinks)
    {
        Samples = samples >= 1 ? samples : throw new VDiTLensException($"spatial_temporal 'samples' must be at least 1 (got {samples})");
        FrameRadius = frameRadius >= 0 ? frameRadius : throw new VDiTLensException($"spatial_temporal 'frame_radius' must be ≥ 0 (got {frameRadius})");
    }

    public override KeepMask Begin(SparsityInputs inputs)
    {
        var device = inputs.Q.device;
        if (GridCoordinates.OfCall(inputs.Call, Name) is not var (queries, keys))
            return _ => torch.ones(1, dtype: ScalarType.Bool, device: device);
        var masks = new PatternMasks(queries, keys, FrameRadius, device);
        var temporal = Classify(inputs, queries, masks);
        _patterns[inputs.Call.Site.Name] = inputs.Heads.Select((h, i) => (h, temporal[i] ? HeadPattern.Temporal : HeadPattern.Spatial)).ToArray();
        var isTemporal = torch.tensor(temporal, device: device).view(1, -1, 1, 1);
        return block =>
        {
            var (spatial, temporalKeep) = masks.For(block.Rows);
            return torch.where(isTemporal, temporalKeep.unsqueeze(0).unsqueeze(0), spatial.unsqueeze(0).unsqueeze(0));
        };
    }

    private bool[] Classify(SparsityInputs inputs, GridCoordinates queries, PatternMasks masks)
    {
        var video = inputs.Call.QueryLayout.VideoSegment!;
        long n = video.Length, count = Math.Min(Samples, n);
        var positions = Enumerable.Range(0, (int)count).Select(i => video.Start + (long)((i + 0.5) * n / count)).ToArray();
        var rows = torch.tensor(positions, device: inputs.Q.device);
        var logits = MaskedLogits.Compute(inputs.Q.index_select(2, rows), inputs.K, inputs.Call.Scale, inputs.Mask, rows);
        Tensor Output(Tensor? keep) =>
            torch.matmul((keep is null ? logits : logits.masked_fill(keep.logical_not(), double.NegativeInfinity)).softmax(-1).nan_to_num(0.0), inputs.V);
        var dense = Output(null);
        var (spatial, temporal) = masks.For(rows);
        var errorSpatial = (Output(spatial) - dense).square().sum(new long[] { 0, 2, 3 });
        var errorTemporal = (Output(temporal) - dense).square().sum(new long[] { 0, 2, 3 });
        return (errorTemporal < errorSpatial).cpu().data<bool>().ToArray();
    }

    /// <summary>Spatial and temporal keep-masks [rows, Lk] for given query rows.</summary>
    private sealed class PatternMasks
    {
        private readonly Tensor _qFrame, _qY, _qX, _kFrame, _kY, _kX, _textQuery, _textKey;
        private readonly int _radius;

        public PatternMasks(GridCoordinates queries, GridCoordinates keys, int radius, Device device)
        {
            (_qFrame, _qY, _qX) = (torch.tensor(queries.Frame, device: device), torch.tensor(queries.Y, device: device), torch.tensor(queries.X, device: device));
            (_kFrame, _kY, _kX) = (torch.tensor(keys.Frame, device: device).unsqueeze(0), torch.tensor(keys.Y, device: device).unsqueeze(0), torch.tensor(keys.X, device: device).unsqueeze(0));
            _textQuery = _qFrame < 0;
            _textKey = _kFrame < 0;
            _radius = radius;
        }

        public (Tensor Spatial, Tensor Temporal) For(Tensor rows)
        {
            var f = _qFrame.index_select(0, rows).unsqueeze(1);
            var always = _textKey.logical_or(_textQuery.index_select(0, rows).unsqueeze(1));
            var videoKey = _textKey.logical_not();
            var spatial = (_kFrame - f).abs() <= _radius;
            var temporal = (_kY == _qY.index_select(0, rows).unsqueeze(1)).logical_and(_kX == _qX.index_select(0, rows).unsqueeze(1));
            return (always.logical_or(spatial.logical_and(videoKey)), always.logical_or(temporal.logical_and(videoKey)));
        }
    }
}
