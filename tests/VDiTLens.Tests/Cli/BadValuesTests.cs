using VDiTLens.Cli;
using VDiTLens.Schedulers;
using Xunit.Abstractions;

namespace VDiTLens.Tests.Cli;

/// <summary>User typos end as one line that names the option (or field) and the value, never as an internal error.</summary>
[Collection(VDiTLens.Tests.TestSupport.ConsoleCollection.Name)]
public sealed class BadValuesTests(ITestOutputHelper output)
{
    private (int Code, string Error) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CliApp.Run(args, stdout, stderr);
        output.WriteLine(stderr.ToString());
        return (code, stderr.ToString());
    }

    [Fact]
    public void Generate_refuses_explorer_options_without_an_explorer_folder()
    {
        var (code, error) = Run("generate", "--model", "missing", "--prompt", "p", "--out", "v.gif", "--explorer-steps", "0", "--device", "cpu");
        Assert.NotEqual(0, code);
        Assert.Contains("--explorer-steps needs --explorer DIR", error);
    }

    [Theory]
    [InlineData("--seeds", "0,x", "sinks")]
    [InlineData("--tau-heads", "1,h", "sinks")]
    [InlineData("--tau", "0.5,warm", "sinks")]
    [InlineData("--ablation", "mask,blur", "sinks")]
    [InlineData("--levels", "0.5,half", "sparsity")]
    [InlineData("--keep-dense", "0,one", "sparsity")]
    [InlineData("--seeds", "1,two", "structure")]
    [InlineData("--heads", "0,first", "edit")]
    [InlineData("--probe-query-strides", "1,x", "bench")]
    [InlineData("--blocks", "one", "retrain")]
    public void A_bad_list_item_is_a_parse_error_naming_its_option(string option, string value, string verb)
    {
        var (code, error) = Run(verb, option, value, "--device", "cpu");
        Assert.NotEqual(0, code);
        Assert.DoesNotContain("internal error", error);
        string bad = value.Split(',')[^1];
        Assert.Contains($"{option}: '{bad}'", error);
    }

    [Fact]
    public void Too_many_steps_for_a_cogvideox_schedule_name_the_field_and_its_range()
    {
        var schedule = new CogVideoXNoiseSchedule(new CogVideoXSchedulerConfig());
        var e = Assert.Throws<VDiTLensException>(() => schedule.Timesteps(2000));
        Assert.Contains("num_inference_steps 2000", e.Message);
        Assert.Contains("1..1000", e.Message);
    }

    [Fact]
    public void Old_meanings_of_steps_have_their_own_names()
    {
        // --steps is the number of denoising steps everywhere: a range is --step-range, a probe list --probe-steps, optimiser steps --train-steps.
        var (code, error) = Run("edit", "--steps", "0..1", "--source-prompt", "a", "--target-prompt", "b");
        Assert.NotEqual(0, code);
        Assert.Contains("0..1", error);
        Assert.DoesNotContain("internal error", error);
    }

    [Theory]
    [InlineData("structure")]
    [InlineData("sinks")]
    [InlineData("text-ablation")]
    [InlineData("sparsity")]
    public void A_missing_prompts_file_is_one_line_naming_the_file(string verb)
    {
        string missing = Path.Combine(Path.GetTempPath(), "vditlens-no-such-prompts-" + Guid.NewGuid().ToString("N") + ".txt");
        var (code, error) = Run(verb, "--prompts-file", missing, "--steps", "1", "--device", "cpu");
        Assert.NotEqual(0, code);
        Assert.DoesNotContain("internal error", error);
        Assert.Contains($"prompts file {missing}: not found", error);
    }
}
