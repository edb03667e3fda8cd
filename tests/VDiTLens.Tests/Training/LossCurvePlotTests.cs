using VDiTLens.Training;

namespace VDiTLens.Tests.Training;

public sealed class LossCurvePlotTests
{
    [Fact]
    public void Falling_loss_is_drawn_from_top_left_to_bottom_right()
    {
        var points = Enumerable.Range(1, 100).Select(i => new LossPoint(i * 10, 1.0 / i, 1e-3, i)).ToList();
        const int w = 200, h = 100;
        var rgb = LossCurvePlot.Render(points, w, h);
        Assert.Equal(w * h * 3, rgb.Length);
        bool Dark(int x, int y) => rgb[(y * w + x) * 3 + 2] > 100 && rgb[(y * w + x) * 3] < 60;
        int FirstDarkRow(int x) => Enumerable.Range(0, h).FirstOrDefault(y => Dark(x, y), -1);
        int left = FirstDarkRow(21), right = FirstDarkRow(w - 22);
        Assert.True(left >= 0 && right >= 0, "curve not drawn");
        Assert.True(left < right, $"curve should fall: row {left} at the left, {right} at the right");
    }

    [Fact]
    public void Log_drops_rows_past_the_resumed_step()
    {
        string file = Path.Combine(Path.GetTempPath(), $"loss-{Guid.NewGuid():N}.csv");
        try
        {
            var log = new LossLog(file, 0);
            for (int s = 1; s <= 5; s++) log.Add(new LossPoint(s, 1.0 / s, 1e-3, s));
            var resumed = new LossLog(file, 3);
            Assert.Equal(new[] { 1, 2, 3 }, resumed.Points.Select(p => p.Step));
            Assert.Equal(4, File.ReadAllLines(file).Length);
        }
        finally { File.Delete(file); }
    }
}
