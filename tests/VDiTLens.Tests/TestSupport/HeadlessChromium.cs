using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace VDiTLens.Tests.TestSupport;

/// <summary>
/// Headless Chromium (Debian's chromium package) driven over the DevTools protocol: one page, navigation, script
/// evaluation, real mouse clicks, screenshots, and every console error, uncaught exception and failed load collected.
/// A missing browser fails the test that asks for one; only an explicit VDITLENS_SKIP_BROWSER=1 outside CI (CI=true)
/// lets such a test pass without it.
/// </summary>
public sealed class HeadlessChromium : IDisposable
{
    private readonly Process _process;
    private readonly string _profile;
    private readonly ClientWebSocket _socket = new();
    private readonly Dictionary<int, TaskCompletionSource<JsonObject>> _pending = new();
    private readonly List<string> _errors = new();
    private readonly Task _reader;
    private readonly object _lock = new();
    private int _nextId;
    private TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static string? Executable =>
        new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome" }.FirstOrDefault(File.Exists);

    /// <summary>Whether a test may pass without the browser: only when asked explicitly, and never in CI.</summary>
    public static bool MaySkip => Environment.GetEnvironmentVariable("VDITLENS_SKIP_BROWSER") == "1"
        && !string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    public static string MissingMessage =>
        "chromium is not installed: install it (apt-get install chromium) — the report is checked in a real browser" +
        (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase) ? " (required in CI)" : "; VDITLENS_SKIP_BROWSER=1 skips the check outside CI");

    /// <summary>Console errors, uncaught exceptions and failed resource loads seen so far.</summary>
    public IReadOnlyList<string> Errors { get { lock (_lock) return _errors.ToList(); } }

    public HeadlessChromium(int width = 1400, int height = 1000)
    {
        string executable = Executable ?? throw new InvalidOperationException(MissingMessage);
        _profile = Path.Combine(Path.GetTempPath(), "vditlens-chromium-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_profile);
        var info = new ProcessStartInfo(executable) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[]
                 {
                     "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--no-default-browser-check",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
                     "--disable-dev-shm-usage", "--hide-scrollbars", "--user-data-dir=" + _profile, "--remote-debugging-port=0",
                     $"--window-size={width},{height}", "about:blank",
                 })
            info.ArgumentList.Add(a);
        _process = Process.Start(info)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        // Chromium writes the port it chose to DevToolsActivePort in the profile.
        string portFile = Path.Combine(_profile, "DevToolsActivePort");
        var clock = Stopwatch.StartNew();
        while (!File.Exists(portFile) || File.ReadAllLines(portFile).Length < 2)
        {
            if (_process.HasExited || clock.Elapsed > TimeSpan.FromSeconds(30))
                throw new InvalidOperationException($"chromium did not open its DevTools port (exited: {_process.HasExited})");
            Thread.Sleep(50);
        }
        int port = int.Parse(File.ReadAllLines(portFile)[0]);
        using var http = new HttpClient();
        var targets = JsonNode.Parse(http.GetStringAsync($"http://127.0.0.1:{port}/json/list").GetAwaiter().GetResult())!.AsArray();
        string page = targets.First(t => (string?)t!["type"] == "page")!["webSocketDebuggerUrl"]!.GetValue<string>();
        _socket.ConnectAsync(new Uri(page), CancellationToken.None).GetAwaiter().GetResult();
        _reader = Task.Run(ReadLoop);
        foreach (var domain in new[] { "Page.enable", "Runtime.enable", "Log.enable" }) Send(domain);
        Send("Emulation.setDeviceMetricsOverride", new JsonObject { ["width"] = width, ["height"] = height, ["deviceScaleFactor"] = 1, ["mobile"] = false });
    }

    public JsonObject Send(string method, JsonObject? parameters = null, int timeoutSeconds = 30)
    {
        int id = Interlocked.Increment(ref _nextId);
        var done = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock) _pending[id] = done;
        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters ?? new JsonObject() };
        _socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, true, CancellationToken.None).GetAwaiter().GetResult();
        if (!done.Task.Wait(TimeSpan.FromSeconds(timeoutSeconds))) throw new TimeoutException($"DevTools {method} did not answer in {timeoutSeconds} s");
        var reply = done.Task.Result;
        if (reply["error"] is { } error) throw new InvalidOperationException($"DevTools {method}: {error.ToJsonString()}");
        return reply["result"]?.AsObject() ?? new JsonObject();
    }

    /// <summary>Opens a file and waits for its load event.</summary>
    public void Open(string file, int timeoutSeconds = 30)
    {
        _loaded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Send("Page.navigate", new JsonObject { ["url"] = new Uri(Path.GetFullPath(file)).AbsoluteUri });
        if (!_loaded.Task.Wait(TimeSpan.FromSeconds(timeoutSeconds))) throw new TimeoutException($"{file} did not finish loading in {timeoutSeconds} s");
    }

    /// <summary>The value of a script expression (JSON-serialisable), or an exception with the script's error.</summary>
    public JsonNode? Evaluate(string expression)
    {
        var result = Send("Runtime.evaluate", new JsonObject { ["expression"] = expression, ["returnByValue"] = true, ["awaitPromise"] = true });
        if (result["exceptionDetails"] is { } e) throw new InvalidOperationException($"script failed: {e.ToJsonString()}");
        return result["result"]?["value"]?.DeepClone();
    }

    public T Evaluate<T>(string expression) => Evaluate(expression)!.GetValue<T>();

    /// <summary>Page coordinates of an element's box (scrolled into view first), for clicks and screenshots.</summary>
    public (double X, double Y, double Width, double Height) Box(string selector)
    {
        var box = Evaluate($"(function(){{var e=document.querySelector({JsonSerializer.Serialize(selector)});e.scrollIntoView({{block:'center'}});var r=e.getBoundingClientRect();return [r.left,r.top,r.width,r.height];}})()")!.AsArray();
        return (box[0]!.GetValue<double>(), box[1]!.GetValue<double>(), box[2]!.GetValue<double>(), box[3]!.GetValue<double>());
    }

    /// <summary>A left click with the mouse at viewport coordinates (x, y).</summary>
    public void Click(double x, double y)
    {
        foreach (var type in new[] { "mouseMoved", "mousePressed", "mouseReleased" })
            Send("Input.dispatchMouseEvent", new JsonObject
            {
                ["type"] = type, ["x"] = x, ["y"] = y, ["button"] = type == "mouseMoved" ? "none" : "left", ["clickCount"] = type == "mouseMoved" ? 0 : 1,
            });
    }

    /// <summary>A PNG of the element matched by <paramref name="selector"/> (whole page when null).</summary>
    public void Screenshot(string path, string? selector = null)
    {
        var parameters = new JsonObject { ["format"] = "png", ["captureBeyondViewport"] = true };
        if (selector is not null)
        {
            var (x, y, w, h) = Box(selector);
            var scroll = Evaluate("[window.scrollX, window.scrollY]")!.AsArray();
            parameters["clip"] = new JsonObject
            {
                ["x"] = x + scroll[0]!.GetValue<double>(), ["y"] = y + scroll[1]!.GetValue<double>(), ["width"] = Math.Max(1, w), ["height"] = Math.Max(1, h), ["scale"] = 1,
            };
        }
        var result = Send("Page.captureScreenshot", parameters, 60);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllBytes(path, Convert.FromBase64String(result["data"]!.GetValue<string>()));
    }

    private async Task ReadLoop()
    {
        var buffer = new byte[1 << 16];
        var message = new MemoryStream();
        try
        {
            while (_socket.State == WebSocketState.Open)
            {
                var r = await _socket.ReceiveAsync(buffer, CancellationToken.None);
                if (r.MessageType == WebSocketMessageType.Close) break;
                message.Write(buffer, 0, r.Count);
                if (!r.EndOfMessage) continue;
                var node = JsonNode.Parse(message.ToArray())!.AsObject();
                message.SetLength(0);
                Dispatch(node);
            }
        }
        catch (WebSocketException) { }
        catch (ObjectDisposedException) { }
    }

    private void Dispatch(JsonObject node)
    {
        if (node["id"] is { } id)
        {
            TaskCompletionSource<JsonObject>? done;
            lock (_lock) _pending.Remove(id.GetValue<int>(), out done);
            done?.TrySetResult(node);
            return;
        }
        var p = node["params"];
        switch ((string?)node["method"])
        {
            case "Page.loadEventFired":
                _loaded.TrySetResult();
                break;
            case "Runtime.consoleAPICalled" when (string?)p!["type"] is "error" or "assert":
                lock (_lock) _errors.Add("console: " + string.Join(" ", p["args"]!.AsArray().Select(a => a?["value"]?.ToString() ?? a?["description"]?.ToString())));
                break;
            case "Runtime.exceptionThrown":
                lock (_lock) _errors.Add("exception: " + (p!["exceptionDetails"]?["exception"]?["description"] ?? p["exceptionDetails"]?["text"]));
                break;
            case "Log.entryAdded" when (string?)p!["entry"]!["level"] == "error":
                lock (_lock) _errors.Add("log: " + p["entry"]!["text"] + " " + p["entry"]!["url"]);
                break;
        }
    }

    public void Dispose()
    {
        try { _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None).Wait(2000); } catch (Exception) { }
        try { if (!_process.HasExited) _process.Kill(true); _process.WaitForExit(5000); } catch (Exception) { }
        _process.Dispose();
        _socket.Dispose();
        try { Directory.Delete(_profile, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
