using VDiTLens.Studies.Scale;

namespace VDiTLens.Tests.Studies.Scale;

public sealed class ShardAssignmentTests
{
    private static readonly (string Id, double Cost)[] Cells =
        Enumerable.Range(0, 23).Select(i => ($"cell{i:D2}", 1.0 + (i % 5) * 0.25)).ToArray();

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4)]
    public void Every_cell_goes_to_exactly_one_shard_and_loads_differ_by_at_most_one_cell(int shards)
    {
        var owners = ShardAssignment.Assign(Cells, shards);
        Assert.Equal(Cells.Select(c => c.Id).Order(), owners.Keys.Order());
        var loads = Enumerable.Range(0, shards).Select(s => Cells.Where(c => owners[c.Id] == s).Sum(c => c.Cost)).ToArray();
        Assert.Equal(Cells.Sum(c => c.Cost), loads.Sum(), 9);
        Assert.True(loads.Max() - loads.Min() <= Cells.Max(c => c.Cost), string.Join(", ", loads));
    }

    [Fact]
    public void The_assignment_does_not_depend_on_the_order_cells_are_listed_in()
    {
        var forward = ShardAssignment.Assign(Cells, 4);
        var backward = ShardAssignment.Assign(Cells.Reverse(), 4);
        Assert.All(Cells, c => Assert.Equal(forward[c.Id], backward[c.Id]));
    }

    [Theory]
    [InlineData("4/4")]
    [InlineData("-1/4")]
    [InlineData("1of4")]
    [InlineData("0/0")]
    public void A_bad_shard_says_how_to_write_one(string text)
    {
        var e = Assert.Throws<VDiTLensException>(() => Shard.Parse(text));
        Assert.Contains("shard", e.Message);
    }

    [Fact]
    public void Shard_parses_index_and_count() => Assert.Equal(new Shard(2, 4), Shard.Parse("2/4"));
}
