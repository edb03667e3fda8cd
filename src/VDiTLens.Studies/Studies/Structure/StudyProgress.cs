using VDiTLens.Pipelines;

namespace VDiTLens.Studies.Structure;

/// <summary>Progress of a study: which generation (cell) of how many, and the denoising progress inside it.</summary>
public sealed record StudyProgress(string Cell, int CellIndex, int CellCount, GenerationProgress Steps);
