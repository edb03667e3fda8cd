namespace VDiTLens.Reports;

/// <summary>A link from a figure to a file it was drawn from: a label such as "CSV" and the path relative to the report.</summary>
public sealed record DataLink(string Label, string Href);
