using System.Globalization;

namespace VDiTLens.Studies.Sparsity;

/// <summary>The modes of the sensitivity sweep.</summary>
public static class SweepMode
{
    /// <summary>Only one layer's self-attention is sparsified (<see cref="SweepCell.Layer"/> = that layer).</summary>
    public const string Single = "single";
    /// <summary>Every layer but one is sparsified (<see cref="SweepCell.Layer"/> = the dense layer).</summary>
    public const string LeaveOneOut = "leave_one_out";
    /// <summary>Every layer but the K most sensitive ones (<see cref="SweepCell.Layer"/> = K; K = 0 is all layers).</summary>
    public const string Uniform = "uniform";

    public static readonly string[] All = { Single, LeaveOneOut, Uniform };

    public static int Order(string mode) => Array.IndexOf(All, mode);
}

/// <summary>One cell of the sweep: a method at a level in a mode, for one layer (or K for <see cref="SweepMode.Uniform"/>).</summary>
public sealed record SweepCell(string Method, string Mode, int Layer, double Level)
{
    /// <summary>A file-safe, unique name of the cell, e.g. <c>bottom_k__single__L03__0.3</c>.</summary>
    public string Id => $"{Safe(Method)}__{Mode}__L{Layer:D2}__{Level.ToString("R", CultureInfo.InvariantCulture)}";

    private static string Safe(string s) => new(s.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '-').ToArray());

    public override string ToString() => $"{Method} {Mode} layer {Layer} level {Level.ToString(CultureInfo.InvariantCulture)}";
}

/// <summary>What a finished cell measured against the dense run with the same seed and prompts.</summary>
/// <param name="SparsifiedSites">Self-attention sites the method ran on.</param>
/// <param name="Density">Kept ÷ total query-key pairs over the sparsified sites (null for methods without a density meter).</param>
/// <param name="Accuracy">Share of prompts whose generated clip the evaluator judged correct (null without procedural prompts).</param>
/// <param name="Seconds">Wall time of the cell's generation (not part of the comparable table).</param>
public sealed record SweepCellResult(
    SweepCell Cell,
    IReadOnlyList<string> SparsifiedSites,
    double? Density,
    IReadOnlyDictionary<string, double> DensityBySite,
    double LatentRelativeL2,
    double Psnr,
    double Ssim,
    double? Accuracy,
    double Seconds);
