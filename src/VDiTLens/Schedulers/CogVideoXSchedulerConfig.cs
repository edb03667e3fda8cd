using VDiTLens.Models.Common;

namespace VDiTLens.Schedulers;

/// <summary>
/// The fields of diffusers' CogVideoXDDIMScheduler / CogVideoXDPMScheduler config (same names, diffusers' defaults except
/// prediction_type, which is v_prediction here because it is the only one ported; a config without it is rejected).
/// </summary>
public sealed record CogVideoXSchedulerConfig
{
    public int num_train_timesteps { get; init; } = 1000;
    public double beta_start { get; init; } = 0.00085;
    public double beta_end { get; init; } = 0.012;
    public string beta_schedule { get; init; } = "scaled_linear";
    public bool set_alpha_to_one { get; init; } = true;
    public int steps_offset { get; init; }
    public string prediction_type { get; init; } = "v_prediction";
    public string timestep_spacing { get; init; } = "leading";
    public bool rescale_betas_zero_snr { get; init; }
    public double snr_shift_scale { get; init; } = 3.0;

    public static CogVideoXSchedulerConfig Read(ConfigReader r)
    {
        // CogVideoX checkpoints use scaled_linear betas and v_prediction; the other variants have no reference fixture.
        r.RejectUnless("beta_schedule", n => n is null || n.GetValue<string>() == "scaled_linear",
            "a beta schedule other than scaled_linear");
        r.RejectUnless("trained_betas", n => n is null, "explicit trained betas");
        r.RejectUnless("prediction_type", n => n?.GetValue<string>() == "v_prediction",
            "a prediction type other than v_prediction (diffusers' default is epsilon)");
        r.RejectUnless("timestep_spacing", n => n is null || n.GetValue<string>() is "linspace" or "leading" or "trailing",
            "a timestep spacing other than linspace/leading/trailing");
        var d = new CogVideoXSchedulerConfig();
        return new CogVideoXSchedulerConfig
        {
            num_train_timesteps = r.Get("num_train_timesteps", d.num_train_timesteps),
            beta_start = r.Get("beta_start", d.beta_start),
            beta_end = r.Get("beta_end", d.beta_end),
            beta_schedule = r.Get("beta_schedule", d.beta_schedule),
            set_alpha_to_one = r.Get("set_alpha_to_one", d.set_alpha_to_one),
            steps_offset = r.Get("steps_offset", d.steps_offset),
            prediction_type = r.Get("prediction_type", d.prediction_type),
            timestep_spacing = r.Get("timestep_spacing", d.timestep_spacing),
            rescale_betas_zero_snr = r.Get("rescale_betas_zero_snr", d.rescale_betas_zero_snr),
            snr_shift_scale = r.Get("snr_shift_scale", d.snr_shift_scale),
        };
    }
}
