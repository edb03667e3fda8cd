using System.Text.Json.Nodes;
using VDiTLens.Models.Common;

namespace VDiTLens.Schedulers;

/// <summary>
/// The fields of diffusers' UniPCMultistepScheduler config that the flow-sigma variant (Wan) uses; fields selecting
/// other variants are rejected by name. The record's defaults are Wan's (the only variant ported); <see cref="Read"/>
/// treats a missing field as diffusers' default (so a missing use_flow_sigmas or prediction_type is rejected).
/// </summary>
public sealed record UniPCMultistepConfig
{
    public int num_train_timesteps { get; init; } = 1000;
    public int solver_order { get; init; } = 2;
    public string prediction_type { get; init; } = "flow_prediction";
    public bool predict_x0 { get; init; } = true;
    public string solver_type { get; init; } = "bh2";
    public bool lower_order_final { get; init; } = true;
    public int[] disable_corrector { get; init; } = [];
    public bool use_flow_sigmas { get; init; } = true;
    public double flow_shift { get; init; } = 1.0;
    public string final_sigmas_type { get; init; } = "zero";

    public static UniPCMultistepConfig Read(ConfigReader r)
    {
        static bool IsFalse(JsonNode? n) => FlowMatchEulerDiscreteConfig.IsFalse(n);
        r.RejectUnless("use_flow_sigmas", n => n is not null && n.GetValueKind() == System.Text.Json.JsonValueKind.True,
            "the discrete beta-schedule sigmas (only use_flow_sigmas=true, as Wan, is ported)");
        r.RejectUnless("prediction_type", n => n?.GetValue<string>() == "flow_prediction",
            "a prediction type other than flow_prediction with flow sigmas");
        r.RejectUnless("predict_x0", n => n is null || n.GetValueKind() == System.Text.Json.JsonValueKind.True, "the noise-prediction (predict_x0=false) UniPC variant");
        r.RejectUnless("thresholding", IsFalse, "dynamic thresholding");
        r.RejectUnless("solver_p", n => n is null, "an external predictor scheduler");
        r.RejectUnless("use_karras_sigmas", IsFalse, "Karras sigmas");
        r.RejectUnless("use_exponential_sigmas", IsFalse, "exponential sigmas");
        r.RejectUnless("use_beta_sigmas", IsFalse, "beta sigmas");
        r.RejectUnless("use_dynamic_shifting", IsFalse, "resolution-dependent shifting (needs mu)");
        r.RejectUnless("shift_terminal", n => n is null, "a stretched terminal shift");
        // diffusers registers midpoint/heun/logrho as bh2. bh1 and order 3 are not covered by any reference fixture.
        r.RejectUnless("solver_type", n => n is null || n.GetValue<string>() is "bh2" or "midpoint" or "heun" or "logrho",
            "a solver type other than bh2");
        r.RejectUnless("final_sigmas_type", n => n is null || n.GetValue<string>() is "zero" or "sigma_min",
            "a final sigma other than 'zero' or 'sigma_min'");
        r.RejectUnless("timestep_spacing", n => n is null || n.GetValue<string>() is "linspace" or "leading" or "trailing",
            "a timestep spacing other than linspace/leading/trailing");
        r.RejectUnless("solver_order", n => n is null || n.GetValue<int>() is 1 or 2, "a solver order other than 1 or 2");
        var d = new UniPCMultistepConfig();
        return new UniPCMultistepConfig
        {
            num_train_timesteps = r.Get("num_train_timesteps", d.num_train_timesteps),
            solver_order = r.Get("solver_order", d.solver_order),
            prediction_type = r.Get("prediction_type", d.prediction_type),
            predict_x0 = r.Get("predict_x0", d.predict_x0),
            solver_type = "bh2",
            lower_order_final = r.Get("lower_order_final", d.lower_order_final),
            disable_corrector = r.Get("disable_corrector", d.disable_corrector),
            use_flow_sigmas = true,
            flow_shift = r.Get("flow_shift", d.flow_shift),
            final_sigmas_type = r.Get("final_sigmas_type", d.final_sigmas_type),
        };
    }
}
