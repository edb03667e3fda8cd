using TorchSharp;
using VDiTLens.Attention;
using VDiTLens.Runtime;
using VDiTLens.Tests.TestSupport;
using VDiTLens.Text;
using static TorchSharp.torch;

namespace VDiTLens.Tests.Text;

public sealed class T5EncoderParityTests
{
    public static TheoryData<string> Encoders => new() { "umt5_encoder", "t5_encoder" };

    private static (T5EncoderModel Model, Dictionary<string, Tensor> Data) Setup(string fixture, ScalarType dtype = ScalarType.Float32)
    {
        TorchRuntime.Initialise();
        var model = (T5EncoderModel)TextEncoderLoader.Load(Fixtures.Path(fixture), new ComputeOptions(torch.CPU, dtype, 0));
        return (model, Fixtures.Load($"{fixture}/inputs_outputs.safetensors"));
    }

    [Theory]
    [MemberData(nameof(Encoders))]
    public void Parameter_names_are_the_checkpoint_names(string fixture)
    {
        var (model, _) = Setup(fixture);
        var names = model.state_dict().Keys.OrderBy(n => n, StringComparer.Ordinal).ToArray();
        using var weights = VDiTLens.IO.Checkpoint.Open(Fixtures.Path(fixture));
        Assert.Equal(weights.Names.OrderBy(n => n, StringComparer.Ordinal).ToArray(), names);
        Assert.Equal(fixture == "umt5_encoder" ? "UMT5EncoderModel" : "T5EncoderModel", model.ClassName);
    }

    [Theory]
    [MemberData(nameof(Encoders))]
    public void Last_hidden_state_and_every_hidden_state_match_transformers(string fixture)
    {
        var (model, data) = Setup(fixture);
        using var _ = torch.no_grad();
        var hidden = new List<Tensor>();
        var output = model.Forward(data["input_ids"], data["attention_mask"], hidden);
        Fixtures.AssertClose(output, data["last_hidden_state"], 1e-5, $"{fixture} last_hidden_state");
        Assert.Equal(3, hidden.Count);
        for (int i = 0; i < hidden.Count; i++)
            Fixtures.AssertClose(hidden[i], data[$"hidden_states.{i}"], 1e-5, $"{fixture} hidden_states.{i}");
    }

    [Theory]
    [MemberData(nameof(Encoders))]
    public void Attention_probabilities_with_position_bias_and_mask_match_transformers(string fixture)
    {
        var (model, data) = Setup(fixture);
        var recorder = new DenseProbabilityRecorder();
        using var attached = model.Seam.Attach(recorder);
        using var _ = torch.no_grad();
        model.Encode(data["input_ids"], data["attention_mask"]);
        Assert.Equal(new[] { "attentions.0", "attentions.1" }, recorder.Probabilities.Keys.Order().ToArray());
        foreach (var (key, p) in recorder.Probabilities)
            Fixtures.AssertClose(p, data[key], 1e-5, $"{fixture} {key}");
        Assert.Equal("encoder.block.1.layer.0.SelfAttention", model.Sites[1].Name);
    }

    [Theory]
    [MemberData(nameof(Encoders))]
    public void Tokenizer_ids_through_the_encoder_match_transformers(string fixture)
    {
        var (model, data) = Setup(fixture);
        var tokenizer = UnigramTokenizer.FromFolder(TokenizerFixture.Folder);
        var texts = TokenizerFixture.Load();
        using var batch = tokenizer.Encode(texts.Texts, texts.MaxLength);
        Assert.Equal(data["tok.input_ids"].data<long>().ToArray(), batch.InputIds.data<long>().ToArray());
        Assert.Equal(data["tok.attention_mask"].data<long>().ToArray(), batch.AttentionMask.data<long>().ToArray());
        using var _ = torch.no_grad();
        var output = model.Encode(batch.InputIds, batch.AttentionMask);
        Fixtures.AssertClose(output, data["tok.last_hidden_state"], 1e-5, $"{fixture} tok.last_hidden_state");
        if (data.TryGetValue("tok.wan_prompt_embeds", out var wan))
            Fixtures.AssertClose(PromptEmbeddings.ZeroPastLength(output, batch.AttentionMask), wan, 1e-5, $"{fixture} tok.wan_prompt_embeds");
    }

    [Fact]
    public void Wan_prompt_embeds_zero_the_rows_past_the_mask_length()
    {
        var (model, data) = Setup("umt5_encoder");
        using var _ = torch.no_grad();
        var output = model.Encode(data["input_ids"], data["attention_mask"]);
        var embeds = PromptEmbeddings.ZeroPastLength(output, data["attention_mask"]);
        Fixtures.AssertClose(embeds, data["wan_prompt_embeds"], 1e-5, "wan_prompt_embeds");
        Assert.True(data["attention_mask"].eq(0).any().item<bool>(), "fixture has padding rows");
    }

    [Theory]
    [MemberData(nameof(Encoders))]
    public void Float64_matches_transformers_far_tighter(string fixture)
    {
        var (model, data) = Setup(fixture, ScalarType.Float64);
        using var _ = torch.no_grad();
        var output = model.Encode(data["input_ids"], data["attention_mask"]);
        double error = Fixtures.RelativeL2(output, data["last_hidden_state"]);
        // The float64 reference is stored rounded to float32 (~3e-8 relative); float32 compute is ~2e-7.
        Assert.True(error < 1e-7, $"{fixture} float64 error {error:E3}");
    }

    [Fact]
    public void Wan_pipeline_prompt_embeds_match_diffusers()
    {
        TorchRuntime.Initialise();
        var pipeline = Fixtures.Path("wan_pipeline", "pipeline");
        var tokenizer = UnigramTokenizer.FromFolder(pipeline);
        using var encoder = TextEncoderLoader.Load(pipeline, ComputeOptions.Cpu32);
        var reference = Fixtures.Load("wan_pipeline/reference.safetensors");
        string[] prompts =
        {
            "A cat walks on the grass.",
            "Two astronauts float inside a space station &amp; look out of the window at   the blue earth.",
        };
        using var batch = tokenizer.Encode(prompts.Select(PromptCleaner.Clean).ToList(), 16);
        using var _ = torch.no_grad();
        var hidden = encoder.Encode(batch.InputIds, batch.AttentionMask);
        Fixtures.AssertClose(hidden, reference["prompt_last_hidden_state"], 1e-5, "prompt_last_hidden_state");
        Fixtures.AssertClose(PromptEmbeddings.ZeroPastLength(hidden, batch.AttentionMask), reference["prompt_embeds"], 1e-5, "prompt_embeds");
        using var negative = tokenizer.Encode(new[] { "worst quality, blurred", "worst quality, blurred" }, 16);
        var negativeHidden = encoder.Encode(negative.InputIds, negative.AttentionMask);
        Fixtures.AssertClose(PromptEmbeddings.ZeroPastLength(negativeHidden, negative.AttentionMask), reference["negative_prompt_embeds"], 1e-5, "negative_prompt_embeds");
    }
}
