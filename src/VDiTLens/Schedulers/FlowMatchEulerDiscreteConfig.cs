using VDiTLens.Models.Common;

namespace VDiTLens.Schedulers;

/// <summary>The fields of diffusers' FlowMatchEulerDiscreteScheduler config (same names, same defaults).</summary>
public sealed record FlowMatchEulerDiscreteConfig
{
    public int num_train_timesteps { get; init; } = 1000;
    public double shift { get; init; } = 1.0;
    public bool invert_sigmas { get; init; }

    public static FlowMatchEulerDiscreteConfig Read(ConfigReader r)
    {
        r.RejectUnless("use_dynamic_shifting", IsFalse, "resolution-dependent shifting (needs mu)");
        r.RejectUnless("shift_terminal", n => n is null, "a stretched terminal shift");
        r.RejectUnless("use_karras_sigmas", IsFalse, "Karras sigmas");
        r.RejectUnless("use_exponential_sigmas", IsFalse, "exponential sigmas");
        r.RejectUnless("use_beta_sigmas", IsFalse, "beta sigmas");
        r.RejectUnless("stochastic_sampling", IsFalse, "stochastic sampling");
        var d = new FlowMatchEulerDiscreteConfig();
        return new FlowMatchEulerDiscreteConfig
        {
            num_train_timesteps = r.Get("num_train_timesteps", d.num_train_timesteps),
            shift = r.Get("shift", d.shift),
            invert_sigmas = r.Get("invert_sigmas", d.invert_sigmas),
        };
    }

    internal static bool IsFalse(System.Text.Json.Nodes.JsonNode? n) =>
        n is null || (n.GetValueKind() == System.Text.Json.JsonValueKind.False);
}
