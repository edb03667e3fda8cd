using VDiTLens.Attention;
namespace VDiTLens.Interventions.Config;

/// <summary>One parsed entry of an intervention config: its type, its scope, and its remaining fields.</summary>
public sealed record InterventionSpec(int Index, string Type, AttentionSelector Scope, SpecFields Fields);
