using System.Diagnostics;

namespace VDiTLens.Tests.TestSupport;

/// <summary>
/// Opens a local page in headless Chromium (Debian's chromium package) and returns the DOM after load plus the
/// browser's console log. CI installs chromium and sets VDITLENS_REQUIRE_BROWSER=1, which makes its absence a failure.
/// </summary>
public static class HeadlessBrowser
{
    public static string? Executable =>
        new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome" }.FirstOrDefault(File.Exists);

    public static bool Required => Environment.GetEnvironmentVariable("VDITLENS_REQUIRE_BROWSER") == "1";

    public static (string Dom, string Log) Open(string htmlFile)
    {
        string profile = Path.Combine(Path.GetTempPath(), "vditlens-chromium-" + Guid.NewGuid().ToString("N"));
        var info = new ProcessStartInfo(Executable!)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in new[]
                 {
                     "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--user-data-dir=" + profile, "--enable-logging=stderr", "--v=0",
                     "--allow-file-access-from-files", "--virtual-time-budget=5000", "--dump-dom",
                     new Uri(Path.GetFullPath(htmlFile)).AbsoluteUri,
                 })
            info.ArgumentList.Add(a);
        using var p = Process.Start(info)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string dom = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(60_000)) p.Kill(true);
        try { Directory.Delete(profile, true); } catch (IOException) { }
        return (dom, stderr.Result);
    }
}
