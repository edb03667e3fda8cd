using System.Diagnostics;
using System.Globalization;

namespace VDiTLens.IO.Video;

/// <summary>MP4 (H.264, yuv420p) through an <c>ffmpeg</c> process fed raw RGB24 frames on stdin.</summary>
public static class FfmpegWriter
{
    /// <summary>The ffmpeg executable on PATH, or null.</summary>
    public static string? Locate()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (var name in OperatingSystem.IsWindows() ? new[] { "ffmpeg.exe" } : new[] { "ffmpeg" })
            {
                string candidate = Path.Combine(dir, name);
                if (File.Exists(candidate)) return candidate;
            }
        }
        return null;
    }

    public static void Write(string ffmpeg, string path, RgbFrames video, double fps)
    {
        var start = new ProcessStartInfo(ffmpeg)
        {
            RedirectStandardInput = true, RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false,
        };
        foreach (var arg in new[]
                 {
                     "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", $"{video.Width}x{video.Height}",
                     "-r", fps.ToString(CultureInfo.InvariantCulture), "-i", "-",
                     // yuv420p (what players expect) needs even sizes: pad by one pixel where odd
                     "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart", path,
                 })
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start) ?? throw new VDiTLensException($"could not start {ffmpeg}");
        var errors = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        try
        {
            var stdin = process.StandardInput.BaseStream;
            foreach (var frame in video.Frames) stdin.Write(frame);
            stdin.Close();
        }
        catch (IOException)
        {
            // ffmpeg exited early; its message follows
        }
        process.WaitForExit();
        string message = errors.Result.Trim();
        _ = stdout.Result;
        if (process.ExitCode != 0)
            throw new VDiTLensException($"{ffmpeg} failed writing {path} (exit {process.ExitCode}): {message}; write .gif or .png instead");
    }
}
