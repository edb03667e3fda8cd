using VDiTLens.IO.Video;

namespace VDiTLens.Tests.IO.Video;

/// <summary>The ffmpeg plumbing against a stand-in script (this machine may have no ffmpeg): arguments, raw frames on stdin, failures.</summary>
public sealed class FfmpegWriterTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vditlens-ffmpeg-").FullName;

    private string FakeFfmpeg(string body)
    {
        string path = Path.Combine(_dir, "ffmpeg");
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    [Fact]
    public void Frames_go_to_stdin_as_raw_rgb24_with_size_and_rate()
    {
        if (OperatingSystem.IsWindows()) return;
        string ffmpeg = FakeFfmpeg($"echo \"$@\" > '{_dir}/args.txt'; cat > '{_dir}/stdin.bin'");
        var frames = new RgbFrames(3, 2, new[] { Enumerable.Range(0, 18).Select(i => (byte)i).ToArray(), Enumerable.Repeat((byte)200, 18).ToArray() });
        FfmpegWriter.Write(ffmpeg, Path.Combine(_dir, "out.mp4"), frames, 12.5);
        Assert.Equal(frames.Frames[0].Concat(frames.Frames[1]), File.ReadAllBytes(Path.Combine(_dir, "stdin.bin")));
        string args = File.ReadAllText(Path.Combine(_dir, "args.txt"));
        Assert.Contains("-f rawvideo -pix_fmt rgb24 -s 3x2 -r 12.5 -i -", args);
        Assert.Contains("-pix_fmt yuv420p", args);
        Assert.EndsWith("out.mp4", args.Trim());
    }

    [Fact]
    public void Ffmpeg_failure_reports_its_message()
    {
        if (OperatingSystem.IsWindows()) return;
        string ffmpeg = FakeFfmpeg("cat > /dev/null; echo 'Unknown encoder libx264' >&2; exit 1");
        var frames = new RgbFrames(2, 2, new[] { new byte[12] });
        var e = Assert.Throws<VDiTLensException>(() => FfmpegWriter.Write(ffmpeg, Path.Combine(_dir, "out.mp4"), frames, 16));
        Assert.Contains("Unknown encoder libx264", e.Message);
        Assert.Contains("exit 1", e.Message);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
