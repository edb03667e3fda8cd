using TorchSharp;
using VDiTLens.Pipelines;
using VDiTLens.Runtime;

namespace VDiTLens.Tests.Pipelines;

public sealed class EncoderOutputTests
{
    [Fact]
    public void Finite_outputs_pass()
    {
        TorchRuntime.Initialise();
        EncoderOutput.RequireFinite([torch.ones(2, 3), torch.zeros(2)], "te", "te2");
    }

    [Fact]
    public void A_non_finite_output_names_its_encoder()
    {
        TorchRuntime.Initialise();
        var e = Assert.Throws<VDiTLensException>(() => EncoderOutput.RequireFinite([torch.tensor(new[] { 1f, float.NaN })], "models/x/text_encoder"));
        Assert.Equal("the text encoder's output is not finite (models/x/text_encoder); check its weights, or run in float32", e.Message);
    }

    [Fact]
    public void Any_non_finite_output_of_two_encoders_names_both()
    {
        TorchRuntime.Initialise();
        var e = Assert.Throws<VDiTLensException>(() =>
            EncoderOutput.RequireFinite([torch.ones(2), torch.tensor(new[] { float.PositiveInfinity })], "text_encoder", "text_encoder_2"));
        Assert.Equal("the text encoders' output is not finite (text_encoder, text_encoder_2); check their weights, or run in float32", e.Message);
    }
}
