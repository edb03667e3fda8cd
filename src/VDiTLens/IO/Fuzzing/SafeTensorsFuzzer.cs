using System.Buffers.Binary;
using System.Diagnostics;
using System.Text.RegularExpressions;
using TorchSharp;

namespace VDiTLens.IO.Fuzzing;

/// <summary>
/// Mutates valid safetensors files and checks that <see cref="SafeTensorsFile"/> either loads every tensor
/// (with exactly the bytes the header points at) or refuses the file with a <see cref="VDiTLensException"/>
/// naming it, within a time limit and without a managed allocation out of proportion to the file's size.
/// Case <c>i</c> of seed <c>s</c> is the same bytes on every run, so any failure can be replayed alone.
/// The caller initialises the torch runtime first.
/// </summary>
public sealed partial class SafeTensorsFuzzer
{
    private readonly IReadOnlyList<byte[]> _seeds;
    private readonly string _scratchFile;

    public int Seed { get; }

    /// <summary>A case slower than this is a failure (a hang in the making).</summary>
    public TimeSpan CaseTimeLimit { get; init; } = TimeSpan.FromSeconds(5);

    /// <param name="seedFiles">Valid files to mutate; <see cref="FuzzSeeds.BuiltIn"/> when null.</param>
    /// <param name="scratchFile">Where each case is written before it is opened (it is overwritten).</param>
    public SafeTensorsFuzzer(int seed, string scratchFile, IReadOnlyList<byte[]>? seedFiles = null)
    {
        Seed = seed;
        _scratchFile = scratchFile;
        _seeds = seedFiles ?? FuzzSeeds.BuiltIn();
        if (_seeds.Count == 0) throw new ArgumentException("at least one seed file is needed", nameof(seedFiles));
    }

    /// <summary>The bytes of case <paramref name="caseIndex"/> and the mutations that made them.</summary>
    public (byte[] Bytes, string Mutations) Generate(long caseIndex)
    {
        var random = new Random(CaseSeed(Seed, caseIndex));
        var bytes = _seeds[random.Next(_seeds.Count)];
        int count = random.Next(4) == 0 ? 1 + random.Next(4) : 1;
        var names = new List<string>();
        for (int i = 0; i < count; i++)
        {
            var (name, apply) = SafeTensorsMutations.All[random.Next(SafeTensorsMutations.All.Length)];
            bytes = apply(random, bytes);
            names.Add(name);
        }
        return (bytes, string.Join("+", names));
    }

    public FuzzOutcome Run(long caseIndex)
    {
        var (bytes, mutations) = Generate(caseIndex);
        return Check(caseIndex, bytes, mutations);
    }

    /// <summary>Writes <paramref name="bytes"/> to the scratch file, opens it and reads every tensor.</summary>
    public FuzzOutcome Check(long caseIndex, byte[] bytes, string mutations)
    {
        File.WriteAllBytes(_scratchFile, bytes);
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        FuzzVerdict verdict;
        string detail;
        try
        {
            int tensors = LoadEverything(bytes);
            (verdict, detail) = (FuzzVerdict.ValidLoad, $"{tensors} tensors");
        }
        catch (VDiTLensException e) when (e.Message.StartsWith(_scratchFile + ":", StringComparison.Ordinal))
        {
            (verdict, detail) = (FuzzVerdict.CleanError, MessageClass(e.Message));
        }
        catch (VDiTLensException e)
        {
            (verdict, detail) = (FuzzVerdict.Failure, "error message does not start with the file name: " + e.Message);
        }
        catch (Exception e)
        {
            (verdict, detail) = (FuzzVerdict.Failure, e.ToString());
        }
        clock.Stop();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        if (verdict != FuzzVerdict.Failure && allocated > AllocationLimit(bytes.Length))
            (verdict, detail) = (FuzzVerdict.Failure, $"allocated {allocated} managed bytes for a {bytes.Length}-byte file");
        if (verdict != FuzzVerdict.Failure && clock.Elapsed > CaseTimeLimit)
            (verdict, detail) = (FuzzVerdict.Failure, $"took {clock.Elapsed.TotalSeconds:F1} s");
        return new FuzzOutcome(caseIndex, verdict, detail, mutations, bytes);
    }

    /// <summary>
    /// Managed bytes a case may allocate: parsing costs a small multiple of the header, never a function of the
    /// numbers written in it. A reader that trusts a lying length or shape allocates far more than this.
    /// </summary>
    public static long AllocationLimit(long fileLength) => (1L << 20) + 16 * fileLength;

    private int LoadEverything(byte[] bytes)
    {
        using var file = SafeTensorsFile.Open(_scratchFile);
        long dataStart = 8 + (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        foreach (var entry in file.Tensors)
        {
            using var scope = torch.NewDisposeScope();
            var tensor = file.Load(entry.Name);
            if (tensor.dtype != entry.DType || !tensor.shape.SequenceEqual(entry.Shape))
                throw new FuzzOracleException($"tensor '{entry.Name}' loaded as {tensor.dtype} {string.Join("x", tensor.shape)}, header says {entry.DTypeName} {entry.ShapeText}");
            var expected = bytes.AsSpan((int)(dataStart + entry.Begin), (int)entry.ByteCount);
            if (!tensor.bytes.SequenceEqual(expected))
                throw new FuzzOracleException($"tensor '{entry.Name}' holds different bytes from the file's [{entry.Begin}, {entry.End})");
        }
        return file.Tensors.Count;
    }

    /// <summary>A clean error's message with the file, names and numbers taken out, for tallying.</summary>
    public static string MessageClass(string message)
    {
        int colon = message.IndexOf(": ", StringComparison.Ordinal);
        string text = colon >= 0 ? message[(colon + 2)..] : message;
        text = TensorPrefix().Replace(text, "");
        text = Parenthesised().Replace(text, "");
        text = Quoted().Replace(text, "'…'");
        text = Bracketed().Replace(text, "[…]");
        text = Digits().Replace(text, "N");
        return text.Length > 90 ? text[..90] + "…" : text;
    }

    [GeneratedRegex(@"^tensor '.*?': ")] private static partial Regex TensorPrefix();
    [GeneratedRegex(@" \(.*\)")] private static partial Regex Parenthesised();
    [GeneratedRegex(@"'[^']*'")] private static partial Regex Quoted();
    [GeneratedRegex(@"\[.*\]")] private static partial Regex Bracketed();
    [GeneratedRegex(@"(?<![A-Za-z_])-?\d+")] private static partial Regex Digits();

    /// <summary>SplitMix64 of (seed, case): independent, reproducible streams per case.</summary>
    private static int CaseSeed(int seed, long caseIndex)
    {
        ulong z = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL + (ulong)caseIndex + 0x632BE59BD9B4E019UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return (int)(z ^ (z >> 31));
    }

    private sealed class FuzzOracleException(string message) : Exception(message);
}
