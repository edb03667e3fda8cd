using VDiTLens.Studies.Scale;

namespace VDiTLens.Studies.Structure;

/// <summary>One planned edit study cell: a band's (pair, seed) edit, or a held-out role whose band is the dev choice (<see cref="Band"/> null).</summary>
public sealed record EditPlannedCell(PlannedCell Planned, LayerBand? Band, int Pair, long Seed)
{
    public bool Development => Band is not null;
}

/// <summary>
/// The edit study's cells in two passes, without a model. Pass 1: every band × pair × development seed. Pass 2: the
/// chosen band × pair × held-out seed, planned by role (<c>chosen_pair&lt;i&gt;_seed&lt;s&gt;</c>) with every pass-1 cell
/// in its <see cref="PlannedCell.After"/>: the band is read from the saved pass-1 cells (<see cref="EditSelection.Choose"/>
/// on their development scores, the choice the report makes) and the role saved under that band's cell name. Each
/// cell holds its own no-transfer control (the plain target), so pass 2 needs nothing else; the "all" band is a
/// candidate like any other and is computed on the held-out seeds only when chosen.
/// </summary>
public sealed class EditStudyPlan
{
    private readonly Func<string, EditStudyCell?> _load;
    private readonly Dictionary<string, EditPlannedCell> _byId;
    private string? _chosen;

    public EditStudySettings Settings { get; }
    public IReadOnlyList<EditPlannedCell> Cells { get; }
    public StudyPlan StudyPlan { get; }

    /// <param name="load">a saved cell by name; null when it is absent or unreadable.</param>
    public EditStudyPlan(EditStudySettings settings, Func<string, EditStudyCell?> load)
    {
        settings.Options.Validate();
        Settings = settings;
        _load = load;
        var o = settings.Options;
        var pairs = Enumerable.Range(0, o.Pairs.Count).ToArray();
        var development = settings.Bands.SelectMany(b => pairs.SelectMany(p => o.DevSeeds.Select(seed =>
            new EditPlannedCell(new PlannedCell(EditStudy.CellId(b, p, seed), $"pass 1: band {b.Label} pair {p} dev seed {seed}", 1, Array.Empty<string>()), b, p, seed)))).ToList();
        var after = development.Select(c => c.Planned.Id).ToArray();
        var heldOut = pairs.SelectMany(p => o.TestSeeds.Select(seed =>
            new EditPlannedCell(new PlannedCell(RoleId(p, seed), $"pass 2: chosen band pair {p} held-out seed {seed}", 1, after), null, p, seed)));
        Cells = development.Concat(heldOut).ToList();
        _byId = Cells.ToDictionary(c => c.Planned.Id, StringComparer.Ordinal);
        StudyPlan = new StudyPlan("edit-study", Cells.Select(c => c.Planned).ToList(), o.Steps * (o.Guidance > 1 ? 2 : 1), DenseGenerations: 0);
    }

    public static string RoleId(int pair, long seed) => $"chosen_pair{pair}_seed{seed}";

    public EditPlannedCell Cell(string id) => _byId[id];

    /// <summary>The band the cell transfers and the name it is saved under; null for a held-out role while the choice is not made.</summary>
    public (LayerBand Band, string CellId)? Resolve(EditPlannedCell cell)
    {
        var band = cell.Band ?? (TryChoose() is { } label ? Settings.Bands.First(b => b.Label == label) : null);
        return band is null ? null : (band, EditStudy.CellId(band, cell.Pair, cell.Seed));
    }

    public bool IsDone(EditPlannedCell cell) => Resolve(cell) is { } r && _load(r.CellId) is not null;

    public bool IsReady(EditPlannedCell cell) => cell.Planned.After.All(id => IsDone(_byId[id]));

    /// <summary>The band chosen on the saved pass-1 cells; null while one is missing (or when no band has a finite score).</summary>
    public string? TryChoose()
    {
        if (_chosen is not null) return _chosen;
        var development = new List<EditStudyCell>();
        foreach (var c in Cells.Where(c => c.Development))
        {
            if (_load(c.Planned.Id) is not { } saved) return null;
            development.Add(saved);
        }
        var o = Settings.Options;
        return _chosen = EditSelection.Choose(EditSelection.DevelopmentScores(development.Select(c => EditSample.Of(c, o)), o.DevSeeds));
    }

    /// <summary>The saved cells in band, pair, seed order (development seeds first), whichever process saved them.</summary>
    public IReadOnlyList<EditStudyCell> Saved()
    {
        var bands = Settings.Bands.Select((b, i) => (b.Label, i)).ToDictionary(x => x.Label, x => x.i);
        var seeds = Settings.Options.Seeds.Select((s, i) => (s, i)).ToDictionary(x => x.s, x => x.i);
        return Cells.Select(Resolve).Where(r => r is not null).Select(r => _load(r!.Value.CellId)).Where(c => c is not null).Select(c => c!)
            .OrderBy(c => bands[c.Band]).ThenBy(c => c.Pair).ThenBy(c => seeds[c.Seed]).ToList();
    }

    /// <summary>The planned cells not saved yet.</summary>
    public IReadOnlyList<PlannedCell> Missing() => Cells.Where(c => !IsDone(c)).Select(c => c.Planned).ToList();
}
