#!/usr/bin/env python3
"""Reference fixtures for Wan2.2 made by diffusers itself (tiny random weights, CPU).

* wan22_ti2v: WanTransformer3DModel forward with per-token timesteps [B, L] (the TI2V-5B call, first frame at t = 0).
* wan22_vae: the Wan2.2 VAE (AutoencoderKLWan with is_residual=True, patch_size=2, in/out_channels 12): decode and
  encode.
* wan22_pipeline: the two-expert A14B layout (WanPipeline with transformer, transformer_2 and boundary_ratio 0.875,
  guidance_scale_2) end to end; per step the latents, both guidance branches and which expert ran.
* wan22_ti2v_pipeline: the TI2V-5B layout (WanPipeline with expand_timesteps=True and the Wan2.2 VAE) end to end,
  text-to-video; and the same components in WanImageToVideoPipeline (expand_timesteps=True): the first latent frame
  conditioned on an image (reference_i2v*.safetensors).

Conventions as tests/fixtures/README.md: seeded constructor, every floating parameter re-randomised (all-ones tensors
-> 1 + N(0, 0.1), everything else N(0, 0.05), T5 relative_attention_bias N(0, 0.5)), saved with save_pretrained
(float32 safetensors), re-loaded; references computed in float64 on the CPU (stored as float32) and again in float32
(`*_fp32cpu` keys or files). Text encoder, tokenizer, scheduler and the Wan2.1 VAE of the pipelines are those of
tests/fixtures/wan_pipeline/pipeline.

Usage: DIFFUSERS_SRC=/path/to/diffusers_src python3 make_wan22_fixtures.py WAN_PIPELINE_DIR OUT_DIR
"""
import json
import os
import shutil
import sys
import traceback

src = os.environ.get("DIFFUSERS_SRC")
if src:
    sys.path.insert(0, src)
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

import diffusers  # noqa: E402
import transformers  # noqa: E402
from diffusers import AutoencoderKLWan, WanImageToVideoPipeline, WanPipeline, WanTransformer3DModel  # noqa: E402

torch.set_num_threads(min(16, os.cpu_count() or 1))

PROMPTS = ["A cat walks on the grass.",
           "Two astronauts float inside a space station &amp; look out of the window at   the blue earth."]
NEGATIVE = "worst quality, blurred"
SEQ = 16

TRANSFORMER = dict(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=16, in_channels=4, out_channels=4,
                   text_dim=32, freq_dim=256, ffn_dim=48, num_layers=2, cross_attn_norm=True,
                   qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=32)
VAE22 = dict(base_dim=4, decoder_base_dim=6, z_dim=8, dim_mult=[1, 2, 4, 4], num_res_blocks=1, attn_scales=[],
             temperal_downsample=[False, True, True], dropout=0.0, is_residual=True, in_channels=12, out_channels=12,
             patch_size=2, scale_factor_spatial=16, scale_factor_temporal=4,
             latents_mean=[-0.2289, -0.0052, -0.1323, -0.2339, -0.2799, 0.0174, 0.1838, 0.1557],
             latents_std=[0.4765, 1.0364, 0.4514, 1.1677, 0.5313, 0.4990, 0.4818, 0.5013])


def rerandomise(model, seed):
    g = torch.Generator().manual_seed(seed)
    counts = {"ones": 0, "other": 0}
    with torch.no_grad():
        for name, p in model.named_parameters():
            if not p.is_floating_point():
                continue
            if torch.all(p == 1):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
                counts["ones"] += 1
            elif "relative_attention_bias" in name:
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
                counts["other"] += 1
            else:
                p.copy_(0.05 * torch.randn(p.shape, generator=g))
                counts["other"] += 1
    return counts


def versions():
    return {"torch": torch.__version__, "diffusers": diffusers.__version__, "transformers": transformers.__version__}


def f32(d):
    return {k: (v.to(torch.float32) if v.is_floating_point() else v).contiguous() for k, v in d.items()}


def diffs(ref, other):
    return {k: float((other[k].double() - ref[k].double()).abs().max()) for k in ref
            if k in other and ref[k].is_floating_point()}


def write_json(path, info):
    with open(path, "w") as f:
        json.dump(info, f, indent=2, default=str)


def new_transformer(seed, **overrides):
    torch.manual_seed(seed)
    config = dict(TRANSFORMER)
    config.update(overrides)
    model = WanTransformer3DModel(**config)
    rerandomise(model, seed + 1)
    return model


def new_vae22(seed):
    torch.manual_seed(seed)
    model = AutoencoderKLWan(**VAE22)
    rerandomise(model, seed + 1)
    return model


# ---------------------------------------------------------------- forward fixtures

def ti2v_transformer(out):
    folder = os.path.join(out, "wan22_ti2v")
    os.makedirs(folder, exist_ok=True)
    model = new_transformer(3110, in_channels=8, out_channels=8)
    model.save_pretrained(folder, safe_serialization=True)
    model = WanTransformer3DModel.from_pretrained(folder).eval()
    g = torch.Generator().manual_seed(3112)
    x = torch.randn((2, 8, 3, 4, 6), generator=g)
    text = torch.randn((2, SEQ, 32), generator=g)
    text[0, 11:] = 0
    tokens_per_frame = (4 // 2) * (6 // 2)
    mask = torch.ones(3, 4, 6)
    mask[0] = 0
    per_token = mask[:, ::2, ::2].flatten()
    timestep = torch.stack([per_token * 900.0, per_token * 250.5])  # float32 [2, L], first frame 0
    assert timestep.shape == (2, 3 * tokens_per_frame)

    def fn(dtype):
        m = model.to(dtype)
        with torch.no_grad():
            o = m(hidden_states=x.to(dtype), timestep=timestep, encoder_hidden_states=text.to(dtype), return_dict=False)[0]
            flat = m(hidden_states=x.to(dtype), timestep=timestep[:, -1].contiguous(), encoder_hidden_states=text.to(dtype),
                     return_dict=False)[0]
        return {"output": o, "output_scalar_timestep": flat}

    ref = fn(torch.float64)
    run32 = fn(torch.float32)
    tensors = {"hidden_states": x, "timestep": timestep, "encoder_hidden_states": text}
    for k, v in ref.items():
        tensors[k] = v.to(torch.float32).contiguous()
        tensors[k + "_fp32cpu"] = run32[k].to(torch.float32).contiguous()
    save_file(tensors, os.path.join(folder, "inputs_outputs.safetensors"))
    write_json(os.path.join(folder, "fixture.json"), {
        "class": "WanTransformer3DModel", "config": dict(model.config), "seed": 3110, "compute_dtype": "float64",
        "call": "WanTransformer3DModel(hidden_states, timestep [B, L] float32, encoder_hidden_states); "
                "output_scalar_timestep: the same with timestep = timestep[:, -1] ([B], as Wan2.1 / A14B pass it)",
        "notes": "timestep is per token (Wan2.2 TI2V expand_timesteps): the first latent frame's tokens at 0, the rest "
                 "at 900 (row 0) and 250.5 (row 1), tokens ordered (f, h, w).",
        "max_abs_diff_vs_fp32cpu": diffs(ref, run32), "keys": {k: list(v.shape) for k, v in tensors.items()},
        "versions": versions()})
    print("wan22_ti2v", diffs(ref, run32), flush=True)


def vae22(out):
    folder = os.path.join(out, "wan22_vae")
    os.makedirs(folder, exist_ok=True)
    model = new_vae22(3120)
    model.save_pretrained(folder, safe_serialization=True)
    model = AutoencoderKLWan.from_pretrained(folder).eval()
    g = torch.Generator().manual_seed(3122)
    z = torch.randn((1, 8, 3, 2, 4), generator=g)
    video = torch.rand((1, 3, 9, 32, 64), generator=g) * 2 - 1

    def fn(dtype):
        m = model.to(dtype)
        with torch.no_grad():
            dec = m.decode(z.to(dtype)).sample
            dist = m.encode(video.to(dtype)).latent_dist
            single = m.encode(video[:, :, :1].to(dtype)).latent_dist
        return {"decode": dec, "encode_mean": dist.mean, "encode_logvar": dist.logvar, "encode_frame0_mean": single.mean}

    ref = fn(torch.float64)
    run32 = fn(torch.float32)
    tensors = {"z": z, "video": video}
    for k, v in ref.items():
        tensors[k] = v.to(torch.float32).contiguous()
        tensors[k + "_fp32cpu"] = run32[k].to(torch.float32).contiguous()
    save_file(tensors, os.path.join(folder, "inputs_outputs.safetensors"))
    write_json(os.path.join(folder, "fixture.json"), {
        "class": "AutoencoderKLWan", "config": dict(model.config), "seed": 3120, "compute_dtype": "float64",
        "call": "decode(z).sample (clamped to [-1, 1]); encode(video).latent_dist (mean, logvar); "
                "encode_frame0_mean: encode(video[:, :, :1]).latent_dist.mean (a single image, as TI2V image conditioning)",
        "decode_fraction_clamped": float((ref["decode"].abs() >= 1).double().mean()),
        "max_abs_diff_vs_fp32cpu": diffs(ref, run32), "keys": {k: list(v.shape) for k, v in tensors.items()},
        "versions": versions()})
    print("wan22_vae", diffs(ref, run32), flush=True)


# ---------------------------------------------------------------- pipelines

class Recorder:
    def __init__(self, models):
        self.calls = []
        self.handles = [m.register_forward_hook(self.hook(i)) for i, m in enumerate(models) if m is not None]

    def hook(self, index):
        def fn(module, args, result):
            sample = result[0] if isinstance(result, (tuple, list)) else result.sample
            self.calls.append((index, sample.detach().clone()))
        return fn

    def remove(self):
        for h in self.handles:
            h.remove()


def run_pipeline(pipe, dtype, call, latents_init, capture_prepare=False):
    pipe = pipe.to(dtype)
    rec = Recorder([pipe.transformer, getattr(pipe, "transformer_2", None)])
    steps, embeds, captured = [], {}, {}

    def cb(p, i, t, kw):
        if i == 0:
            embeds["prompt_embeds"] = kw["prompt_embeds"].detach().clone()
            embeds["negative_prompt_embeds"] = kw["negative_prompt_embeds"].detach().clone()
        steps.append((int(i), float(t), kw["latents"].detach().clone()))
        return {}

    if capture_prepare:
        original = pipe.prepare_latents

        def prepare(*args, **kwargs):
            result = original(*args, **kwargs)
            captured["image_preprocessed"] = args[0].detach().clone()
            captured["condition"] = result[1].detach().clone()
            if len(result) > 2:  # expand_timesteps (TI2V) also returns the first-frame mask
                captured["first_frame_mask"] = result[2].detach().clone()
            return result
        pipe.prepare_latents = prepare

    if getattr(pipe, "image_encoder", None) is not None:  # Wan2.1 I2V: CLIP's pixels and image embeddings
        original_encode = pipe.encode_image

        def encode(image, device=None):
            pixels = pipe.image_processor(images=image, return_tensors="pt")["pixel_values"]
            captured["pixel_values"] = pixels.detach().clone()
            embeds = original_encode(image, device)
            captured["image_embeds"] = embeds.detach().clone()
            return embeds
        pipe.encode_image = encode

    with torch.no_grad():
        result = pipe(**call, latents=latents_init.clone(), output_type="np", callback_on_step_end=cb,
                      callback_on_step_end_tensor_inputs=["latents", "prompt_embeds", "negative_prompt_embeds"])
    rec.remove()
    video = result.frames
    video = torch.from_numpy(video) if not isinstance(video, torch.Tensor) else video
    r = {"video": video}
    r.update(embeds)
    r.update(captured)
    assert len(rec.calls) == 2 * len(steps), (len(rec.calls), len(steps))
    for i, t, lat in steps:
        (e_cond, cond), (e_uncond, uncond) = rec.calls[2 * i], rec.calls[2 * i + 1]
        assert e_cond == e_uncond
        r[f"noise_pred_cond.step{i}"] = cond
        r[f"noise_pred_uncond.step{i}"] = uncond
        r[f"expert.step{i}"] = torch.tensor([e_cond], dtype=torch.int64)
        r[f"latents.step{i}"] = lat
    r["timesteps"] = torch.tensor([t for _, t, _ in steps], dtype=torch.float64)
    return r


def save_pipeline(pipe, folder, tokenizer_src):
    path = os.path.join(folder, "pipeline")
    pipe.save_pretrained(path, safe_serialization=True)
    spm = os.path.join(tokenizer_src, "spiece.model")
    if os.path.exists(spm):
        shutil.copy(spm, os.path.join(path, "tokenizer", "spiece.model"))
    return path


def finish(folder, stem, cls, path, call, latents_init, info, capture_prepare=False, make=None, inputs=None, extra=None):
    """Runs the pipeline in float64 and float32 and saves both. `inputs`: call arguments that are not recorded in the
    JSON (e.g. a PIL image); `extra`: tensors saved beside the outputs (e.g. that image as floats)."""
    load = make or (lambda: cls.from_pretrained(path))
    full = dict(call, **(inputs or {}))
    ref = run_pipeline(load(), torch.float64, full, latents_init, capture_prepare)
    run32 = run_pipeline(load(), torch.float32, full, latents_init, capture_prepare)
    a, b = f32(ref), f32(run32)
    for d in (a, b):
        d["latents_init"] = latents_init.contiguous()
        d.update(extra or {})
    save_file(a, os.path.join(folder, f"{stem}.safetensors"))
    save_file(b, os.path.join(folder, f"{stem}_fp32cpu.safetensors"))
    info = dict(info)
    info.update({"call": call, "max_abs_diff_fp32_vs_fp64": diffs(ref, run32),
                 "experts": [int(ref[f"expert.step{i}"]) for i in range(len(ref["timesteps"]))],
                 "timesteps": ref["timesteps"].tolist(), "keys": {k: list(v.shape) for k, v in a.items()},
                 "versions": versions()})
    write_json(os.path.join(folder, f"{stem}.json"), info)
    print(stem, folder, "experts", info["experts"], "timesteps", info["timesteps"], "video diff",
          info["max_abs_diff_fp32_vs_fp64"].get("video"), flush=True)


def two_expert_pipeline(out, base):
    folder = os.path.join(out, "wan22_pipeline")
    os.makedirs(folder, exist_ok=True)
    base_pipe = WanPipeline.from_pretrained(base)
    transformer_2 = new_transformer(3130)
    pipe = WanPipeline(tokenizer=base_pipe.tokenizer, text_encoder=base_pipe.text_encoder, vae=base_pipe.vae,
                       scheduler=base_pipe.scheduler, transformer=base_pipe.transformer, transformer_2=transformer_2,
                       boundary_ratio=0.875)
    path = save_pipeline(pipe, folder, os.path.join(base, "tokenizer"))
    latents = torch.randn((2, 4, 3, 4, 6), generator=torch.Generator().manual_seed(3140), dtype=torch.float32)
    call = dict(prompt=PROMPTS, negative_prompt=NEGATIVE, height=32, width=48, num_frames=9, num_inference_steps=4,
                guidance_scale=5.0, guidance_scale_2=3.0, num_videos_per_prompt=1, max_sequence_length=SEQ)
    finish(folder, "reference", WanPipeline, path, call, latents, {
        "pipeline": "WanPipeline (Wan2.2 A14B layout)", "latents_init_seed": 3140,
        "components": "transformer, text_encoder, tokenizer, scheduler, vae = tests/fixtures/wan_pipeline/pipeline; "
                      "transformer_2 = a second tiny WanTransformer3DModel (seed 3130); boundary_ratio 0.875",
        "notes": "expert.step{i}: 0 = transformer (high noise, t >= boundary_ratio * num_train_timesteps), "
                 "1 = transformer_2 (low noise); guidance_scale applies with transformer, guidance_scale_2 with "
                 "transformer_2. noise_pred_cond/uncond.step{i}: the two branch outputs of step i."})


def ti2v_pipeline(out, base):
    folder = os.path.join(out, "wan22_ti2v_pipeline")
    os.makedirs(folder, exist_ok=True)
    base_pipe = WanPipeline.from_pretrained(base)
    transformer = new_transformer(3150, in_channels=8, out_channels=8)
    vae = new_vae22(3160)
    pipe = WanPipeline(tokenizer=base_pipe.tokenizer, text_encoder=base_pipe.text_encoder, vae=vae,
                       scheduler=base_pipe.scheduler, transformer=transformer, expand_timesteps=True)
    path = save_pipeline(pipe, folder, os.path.join(base, "tokenizer"))
    latents = torch.randn((2, 8, 3, 2, 4), generator=torch.Generator().manual_seed(3170), dtype=torch.float32)
    call = dict(prompt=PROMPTS, negative_prompt=NEGATIVE, height=32, width=64, num_frames=9, num_inference_steps=4,
                guidance_scale=5.0, num_videos_per_prompt=1, max_sequence_length=SEQ)
    finish(folder, "reference", WanPipeline, path, call, latents, {
        "pipeline": "WanPipeline (Wan2.2 TI2V-5B layout, text-to-video)", "latents_init_seed": 3170,
        "components": "text_encoder, tokenizer, scheduler = tests/fixtures/wan_pipeline/pipeline; transformer in/out 8 "
                      "(seed 3150); vae = Wan2.2 AutoencoderKLWan (is_residual, patch_size 2, z_dim 8, seed 3160)",
        "notes": "expand_timesteps=True: the transformer gets timestep [B, L] (all t in text-to-video)."})

    image = torch.rand((1, 3, 32, 64), generator=torch.Generator().manual_seed(3180))

    def make_i2v():
        p = WanPipeline.from_pretrained(path)
        return WanImageToVideoPipeline(tokenizer=p.tokenizer, text_encoder=p.text_encoder, vae=p.vae,
                                       scheduler=p.scheduler, transformer=p.transformer, expand_timesteps=True)
    call_i2v = dict(call, image=image)
    finish(folder, "reference_i2v", WanImageToVideoPipeline, path, call_i2v, latents, {
        "pipeline": "WanImageToVideoPipeline(expand_timesteps=True) built from pipeline/'s components (TI2V-5B image-to-video)",
        "latents_init_seed": 3170, "image_seed": 3180,
        "notes": "image: float32 [1, 3, 32, 64] in [0, 1] passed as a tensor; image_preprocessed = what the video "
                 "processor made of it (2x - 1); condition = (vae.encode(image).latent_dist.mode() - mean) / std "
                 "repeated over the batch; first_frame_mask [1, 1, F, H, W] is 0 on the first latent frame. "
                 "The transformer input is (1 - mask) * condition + mask * latents and its timestep is mask * t per "
                 "token; the final latents are blended the same way before decoding."}, capture_prepare=True,
        make=make_i2v)


def main():
    base, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    failed = 0
    for job in (lambda: ti2v_transformer(out), lambda: vae22(out), lambda: two_expert_pipeline(out, base),
                lambda: ti2v_pipeline(out, base)):
        try:
            job()
        except Exception:  # one broken fixture must not cost the others
            traceback.print_exc()
            failed += 1
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
