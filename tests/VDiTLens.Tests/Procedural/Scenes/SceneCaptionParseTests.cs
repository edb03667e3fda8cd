using VDiTLens.Procedural;
using VDiTLens.Procedural.Scenes;

namespace VDiTLens.Tests.Procedural.Scenes;

public sealed class SceneCaptionParseTests
{
    [Fact]
    public void Parsing_a_caption_gives_back_its_scene_attributes()
    {
        var dataset = new SceneDataset();
        for (int i = 0; i < 200; i++)
        {
            var spec = dataset.Training(i).Spec;
            var parts = SceneCaption.Parse(SceneCaption.For(spec));
            Assert.NotNull(parts);
            Assert.Equal(spec.Objects.Select(o => new CaptionedObject(o.Colour, o.Texture, o.Shape, o.Direction, o.Speed)), parts!.Objects);
            Assert.Equal(spec.Background, parts.Background);
            Assert.Equal(spec.Camera, parts.Camera);
        }
    }

    [Theory]
    [InlineData("a red circle moving right slowly on a plain background")] // a single-object clip caption: no texture
    [InlineData("a red solid circle moving right slowly on a plain background as the camera pans static")]
    [InlineData("a red solid circle moving right slowly")]
    [InlineData("")]
    public void Other_text_is_not_a_scene_caption(string text) => Assert.Null(SceneCaption.Parse(text));
}
