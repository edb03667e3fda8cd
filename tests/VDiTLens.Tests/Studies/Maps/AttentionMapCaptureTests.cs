using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.IO;
using VDiTLens.Models.Common;
using VDiTLens.Runtime;
using VDiTLens.Studies.Maps;
using VDiTLens.Tests.TestSupport;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Studies.Maps;

public sealed class AttentionMapCaptureTests
{
    /// <summary>Collects streamed rows into one tensor (small test maps only).</summary>
    private sealed class CollectingSink : IMapSink
    {
        private readonly List<Tensor> _blocks = new();
        public int Blocks => _blocks.Count;
        public MapGeometry? Geometry { get; private set; }
        public Tensor Map => torch.cat(_blocks, 0);
        public void Begin(MapGeometry geometry) => Geometry = geometry;
        public void Append(Tensor rows) => _blocks.Add(rows.clone().DetachFromDisposeScope());
        public void End() { }
    }

    /// <summary>Records q and k of one call so the test can build the dense float64 map itself.</summary>
    private sealed class QkRecorder(string site) : IAttentionProbe
    {
        public Tensor? Q, K;
        public bool Accepts(AttentionCall call) => call.Site.Name == site;
        public void Observe(AttentionCall call, Tensor q, Tensor k, Tensor v, Tensor output)
        {
            Q = q.to(ScalarType.Float64).clone().DetachFromDisposeScope();
            K = k.to(ScalarType.Float64).clone().DetachFromDisposeScope();
            Scale = call.Scale;
        }
        public double Scale;
    }

    private static (IVideoTransformer Model, Dictionary<string, Tensor> Data) Setup(ScalarType dtype)
    {
        TorchRuntime.Initialise();
        var model = TransformerLoader.Load(Fixtures.Path("wan_t2v"), new ComputeOptions(torch.CPU, dtype, 0));
        model.Seam.State.Step = 0;
        return (model, Fixtures.Load("wan_t2v/inputs_outputs.safetensors"));
    }

    [Theory]
    [InlineData("blocks.0.attn1", "attn.0.self", 0, 1)]
    [InlineData("blocks.1.attn1", "attn.1.self", 1, 0)]
    [InlineData("blocks.1.attn2", "attn.1.cross", 1, 1)]
    public void Chosen_queries_equal_the_probabilities_diffusers_recorded(string site, string key, int row, int head)
    {
        var (model, data) = Setup(ScalarType.Float32);
        long[] queries = { 5, 17, 3, 40, 71, 0 };
        var sink = new CollectingSink();
        var capture = new AttentionMapCapture(new MapOptions
        {
            Site = site, BatchRow = row, Head = head, Queries = new TokenSelection("tokens", queries),
            OutputType = ScalarType.Float32, MemoryBudgetBytes = 1, // one row per block
        }, sink);
        using (model.Seam.Attach(capture))
        using (torch.no_grad())
            model.Forward(data);
        Assert.Equal(queries.Length, sink.Blocks);
        var expected = data[key][row, head].index_select(0, torch.tensor(queries));
        Fixtures.AssertClose(sink.Map, expected, 1e-5, $"{site} row {row} head {head}");
    }

    [Fact]
    public void The_written_fp16_file_holds_the_recorded_probabilities_and_positions()
    {
        var (model, data) = Setup(ScalarType.Float32);
        string path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"map-{Guid.NewGuid():N}.safetensors");
        try
        {
            using (var file = new SafeTensorsMapSink(path, ScalarType.Float16))
            {
                var capture = new AttentionMapCapture(new MapOptions { Site = "blocks.0.attn1", Head = 0, Queries = TokenSelection.Parse("frame:1") }, file);
                using (model.Seam.Attach(capture))
                using (torch.no_grad())
                    model.Forward(data);
            }
            using var written = SafeTensorsFile.Open(path);
            Assert.Equal(ScalarType.Float16, written.Load("map").dtype);
            var queries = written.Load("query_positions");
            Assert.Equal(Enumerable.Range(24, 24).Select(i => (long)i).ToArray(), queries.data<long>().ToArray()); // grid 3 × 4 × 6
            Assert.Equal("blocks.0.attn1", written.Metadata["site"]);
            var expected = data["attn.0.self"][0, 0].index_select(0, queries);
            Fixtures.AssertClose(written.Load("map", dtype: ScalarType.Float32), expected, 1e-3, "fp16 map");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("video", "all", 5, null)]   // ragged last group (72 = 14·5 + 2)
    [InlineData("frame:2", "video", 4, 1)]
    [InlineData("region:0..2:1..2:0..3", "stride:3", 3, 0)]
    public void Pooled_map_equals_pooling_of_the_dense_float64_map(string querySpec, string keySpec, int pool, int? head)
    {
        var (model, data) = Setup(ScalarType.Float64);
        var sink = new CollectingSink();
        var recorder = new QkRecorder("blocks.1.attn1");
        var options = new MapOptions
        {
            Site = "blocks.1.attn1", BatchRow = 1, Head = head, Queries = TokenSelection.Parse(querySpec), Keys = TokenSelection.Parse(keySpec),
            Pool = pool, OutputType = ScalarType.Float64, MemoryBudgetBytes = 1,
        };
        using (model.Seam.Attach(recorder))
        using (model.Seam.Attach(new AttentionMapCapture(options, sink)))
        using (torch.no_grad())
            model.Forward(data);
        var g = sink.Geometry!;
        // dense reference: every probability of the call in float64, then pooled by plain loops
        var logits = torch.matmul(recorder.Q!, recorder.K!.transpose(-2, -1)) * recorder.Scale;
        var p = logits.softmax(-1)[1]; // [H, L, L]
        var dense = head is { } h ? p[h] : p.mean(new long[] { 0 });
        var values = dense.contiguous().data<double>().ToArray();
        long l = dense.shape[1];
        long rows = (g.QueryPositions.Length + pool - 1) / pool, cols = (g.KeyPositions.Length + pool - 1) / pool;
        var expected = new double[rows * cols];
        for (long r = 0; r < rows; r++)
            for (long c = 0; c < cols; c++)
            {
                double sum = 0;
                int n = 0;
                for (long i = r * pool; i < Math.Min(g.QueryPositions.Length, (r + 1) * pool); i++)
                    for (long j = c * pool; j < Math.Min(g.KeyPositions.Length, (c + 1) * pool); j++, n++)
                        sum += values[g.QueryPositions[i] * l + g.KeyPositions[j]];
                expected[r * cols + c] = sum / n;
            }
        Fixtures.AssertClose(sink.Map, torch.tensor(expected).reshape(rows, cols), 1e-12, $"pooled {querySpec} × {keySpec} / {pool}");
    }

    [Fact]
    public void Selections_resolve_on_the_grid_and_refuse_bad_input()
    {
        var layout = TokenLayout.Video(new VideoGrid(3, 4, 6));
        Assert.Equal(new long[] { 24 + 6, 24 + 7, 48 + 6, 48 + 7 }, TokenSelection.Parse("region:1..2:1..1:0..1").Resolve(layout, "query"));
        Assert.Equal(new long[] { 0, 30, 60 }, TokenSelection.Parse("stride:30").Resolve(layout, "query"));
        Assert.Throws<VDiTLensException>(() => TokenSelection.Parse("frame:3").Resolve(layout, "query"));
        Assert.Throws<VDiTLensException>(() => TokenSelection.Parse("tokens:72").Resolve(layout, "query"));
        Assert.Throws<VDiTLensException>(() => TokenSelection.Parse("stride:0"));
        Assert.Throws<VDiTLensException>(() => TokenSelection.Parse("region:0..1:2"));
        Assert.Throws<VDiTLensException>(() => TokenSelection.Parse("text").Resolve(layout, "key"));
    }
}
