using VDiTLens.Procedural.Scenes;
using VDiTLens.Studies.Structure;

namespace VDiTLens.Tests.Studies.Structure;

public sealed class ScenePairsTests
{
    [Fact]
    public void Appearance_pairs_change_one_attribute_of_one_object_and_camera_pairs_only_the_camera()
    {
        var pairs = ScenePairs.Build();
        Assert.Equal(ScenePairs.DefaultAppearance + ScenePairs.DefaultCamera, pairs.Count);
        Assert.Equal(new[] { "colour", "texture", "shape", "colour", "texture", "shape", "camera", "camera", "camera" }, pairs.Select(p => p.Changes));
        foreach (var pair in pairs)
        {
            var (a, b) = (SceneCaption.Parse(pair.Source)!, SceneCaption.Parse(pair.Target)!);
            Assert.True(a.Objects.Count >= 2, pair.Source);
            Assert.Equal(a.Objects.Count, b.Objects.Count);
            var changed = a.Objects.Zip(b.Objects).Where(x => x.First != x.Second).ToList();
            if (pair.Changes == "camera")
            {
                Assert.Empty(changed);
                Assert.NotEqual(a.Camera, b.Camera);
                continue;
            }
            Assert.Equal(a.Camera, b.Camera);
            var (was, now) = Assert.Single(changed);
            Assert.Equal(was.Direction, now.Direction);
            Assert.Equal(was.Speed, now.Speed);
            int differing = new[] { was.Colour != now.Colour, was.Texture != now.Texture, was.Shape != now.Shape }.Count(d => d);
            Assert.Equal(1, differing);
            Assert.Equal(pair.Changes, was.Colour != now.Colour ? "colour" : was.Texture != now.Texture ? "texture" : "shape");
            Assert.Equal(b.Objects.Count, b.Objects.Select(o => o.Colour).Distinct().Count()); // the evaluator finds objects by colour
        }
        var kinds = pairs.Where(p => p.Changes == "camera").Select(p => (SceneCaption.Parse(p.Source)!.Camera, SceneCaption.Parse(p.Target)!.Camera)).ToList();
        Assert.Contains(kinds, k => k.Item2 == CameraPan.Static);
        Assert.Contains(kinds, k => k.Item1 == CameraPan.Static);
        Assert.Contains(kinds, k => k.Item1 != CameraPan.Static && k.Item2 != CameraPan.Static);
    }
}
