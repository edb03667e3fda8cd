using VDiTLens.Procedural;
using VDiTLens.Procedural.Scenes;
using VDiTLens.Studies.Structure;

namespace VDiTLens.Tests.Studies.Structure;

/// <summary>The scene edit measures on ground-truth renders (<see cref="SceneRenderer"/>): distances, attribute change, unchanged objects, camera.</summary>
public sealed class SceneEditMetricsTests
{
    private const double Tolerance = 2.4;

    // a red circle along the top moving right, a blue striped square along the bottom moving left, far apart
    private static SceneSpec Scene(CameraPan camera = CameraPan.Static) => new(new[]
    {
        new SceneObject(ObjectShape.Circle, ObjectColour.Red, ObjectTexture.Solid, MotionDirection.Right, MotionSpeed.Slow, 12, 12, 12),
        new SceneObject(ObjectShape.Square, ObjectColour.Blue, ObjectTexture.Striped, MotionDirection.Left, MotionSpeed.Slow, 34, 35, 12),
    }, camera == CameraPan.Static ? BackgroundKind.Plain : BackgroundKind.Noisy, camera, 0.1, 3, 17, 48, 48);

    private static SceneSpec With(SceneSpec spec, int index, Func<SceneObject, SceneObject> change)
    {
        var objects = spec.Objects.ToArray();
        objects[index] = change(objects[index]);
        return spec with { Objects = objects };
    }

    private static SceneJudgement Read(SceneSpec spec) => SceneEvaluator.Evaluate(SceneRenderer.RenderPixels(spec), spec.Frames, spec.Height, spec.Width);

    private static SceneCaptionParts Caption(SceneSpec spec) => SceneCaption.Parse(SceneCaption.For(spec))!;

    private static SceneEditMetrics Measure(SceneSpec source, SceneSpec target, SceneSpec plain, SceneSpec edited) =>
        SceneEditMetrics.Of(Caption(source), Caption(target), Read(source), Read(plain), Read(edited), Tolerance);

    [Fact]
    public void Identical_trajectories_give_zero_distance_and_a_success()
    {
        var s = Scene();
        var m = Measure(s, s, s, s);
        Assert.All(m.Objects, o => Assert.Equal(0, o.EditedDistance, 12));
        Assert.All(m.Objects, o => Assert.True(o.EditedAsTarget && !o.Changed));
        Assert.Equal(0, m.EditedTrajectoryDistance, 12);
        Assert.Null(m.EditedCameraIsTarget);
        Assert.True(m.EditedSuccess);
    }

    [Fact]
    public void A_shifted_object_is_measured_at_its_shift_and_the_other_at_zero()
    {
        var s = Scene();
        var shifted = With(s, 0, o => o with { StartY = o.StartY + 3 }); // moving right, so the shift is the same in every frame
        var m = Measure(s, s, s, shifted);
        Assert.Equal(3, m.Objects[0].EditedDistance, 1);
        Assert.Equal(0, m.Objects[1].EditedDistance, 12);
        Assert.True(m.Objects[0].EditedAsTarget, "moving an object does not change its attributes");
        Assert.False(m.EditedSuccess, "3 px is beyond the 2.4 px tolerance");
        Assert.True(m.TargetSuccess);
    }

    [Theory]
    [InlineData("colour")]
    [InlineData("texture")]
    [InlineData("shape")]
    public void An_attribute_change_is_detected_on_the_changed_object_only(string kind)
    {
        var s = Scene();
        var target = With(s, 1, o => kind switch
        {
            "colour" => o with { Colour = ObjectColour.Yellow },
            "texture" => o with { Texture = ObjectTexture.Dotted },
            _ => o with { Shape = ObjectShape.Triangle },
        });
        // the edited video shows the target's attribute; the plain target (here: the source drawn again) does not
        var m = Measure(s, target, s, target);
        Assert.True(m.Objects[1].Changed);
        Assert.True(m.Objects[1].EditedAsTarget);
        Assert.False(m.Objects[1].TargetAsTarget);
        Assert.False(m.Objects[0].Changed);
        Assert.True(m.Objects[0].EditedAsTarget, "the unchanged object is reported unchanged");
        Assert.Equal(0, m.Objects[0].EditedDistance, 12);
        Assert.True(m.Objects[1].EditedDistance < 0.5, $"{m.Objects[1].EditedDistance}");
        Assert.True(m.EditedSuccess);
        Assert.False(m.TargetSuccess);
    }

    [Fact]
    public void An_object_that_should_stay_but_changed_is_reported_changed()
    {
        var s = Scene();
        var target = With(s, 1, o => o with { Texture = ObjectTexture.Dotted });
        var edited = With(target, 0, o => o with { Shape = ObjectShape.Square }); // the edit also turned the circle into a square
        var m = Measure(s, target, s, edited);
        Assert.False(m.Objects[0].EditedAsTarget);
        Assert.True(m.Objects[1].EditedAsTarget);
        Assert.False(m.EditedSuccess);
    }

    [Fact]
    public void The_camera_of_a_camera_pair_is_compared_with_the_target_caption()
    {
        var source = Scene(CameraPan.Right);
        var target = source with { Camera = CameraPan.Static };
        var m = Measure(source, target, source, target);
        Assert.Equal("static", m.TargetCamera);
        Assert.True(m.EditedCameraIsTarget);
        Assert.False(m.TargetCameraIsTarget);
        Assert.All(m.Objects, o => Assert.InRange(o.EditedDistance, 0, 0.5)); // the panning background moves the objects' anti-aliased edges a little
        Assert.True(m.EditedSuccess);
        Assert.False(m.TargetSuccess);
    }

    [Fact]
    public void A_missing_object_has_no_distance_and_fails()
    {
        var s = Scene();
        var one = s with { Objects = new[] { s.Objects[0] } };
        var m = Measure(s, s, s, one);
        Assert.True(double.IsNaN(m.Objects[1].EditedDistance));
        Assert.False(m.Objects[1].EditedAsTarget);
        Assert.False(m.EditedSuccess);
    }

    [Fact]
    public void A_perfect_edit_of_every_default_scene_pair_succeeds_and_a_moved_target_does_not()
    {
        foreach (var (source, target, changes) in ScenePairs.Scenes())
        {
            // the plain target from other noise: the same objects elsewhere (each moved 6 px across its motion)
            var moved = target with
            {
                Objects = target.Objects.Select(o => o.Direction is MotionDirection.Left or MotionDirection.Right
                    ? o with { StartY = Math.Clamp(o.StartY + 6, o.SizePixels / 2, target.Height - o.SizePixels / 2) }
                    : o with { StartX = Math.Clamp(o.StartX + 6, o.SizePixels / 2, target.Width - o.SizePixels / 2) }).ToArray(),
            };
            var m = SceneEditMetrics.Of(Caption(source), Caption(target), Read(source), Read(moved), Read(target), Tolerance);
            Assert.True(m.EditedSuccess, $"{changes}: {SceneCaption.For(source)} → {SceneCaption.For(target)}: {string.Join("; ", m.Objects)} camera {m.EditedCamera}");
            Assert.False(m.TargetSuccess, $"{changes}: the moved target passed: {string.Join("; ", m.Objects)}");
        }
    }
}
