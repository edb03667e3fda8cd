#!/usr/bin/env python3
"""End-to-end reference fixtures for diffusers' MochiPipeline and CogVideoXPipeline (tiny random weights).

Conventions as tests/fixtures/wan_pipeline: a tiny pipeline saved with save_pretrained (float32 safetensors, every
floating parameter re-randomised: all-ones tensors -> 1 + N(0, 0.1), everything else N(0, 0.05), T5
relative_attention_bias N(0, 0.5)), re-loaded, run with explicit initial latents (no random numbers inside the
pipeline) once cast to float64 on the CPU (`reference.safetensors`, stored as float32) and once in float32
(`reference_fp32cpu.safetensors`). Recorded: token ids and masks, prompt embeddings, every transformer call's output
(`noise_pred.call{i}`, cond and uncond batched as the pipeline batches them), the latents after every step
(`latents.step{i}`), the timesteps and the decoded video (`video`, np layout [B, F, H, W, 3]).

Usage: DIFFUSERS_SRC=/path/to/diffusers_src python3 make_pipeline_fixtures.py TOKENIZER_DIR OUT_DIR
TOKENIZER_DIR: a T5 tokenizer folder (spiece.model + tokenizer.json), e.g. tests/fixtures/wan_pipeline/pipeline/tokenizer.
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

torch.set_num_threads(min(16, os.cpu_count() or 1))

PROMPTS = ["A cat walks on the grass.", "Two astronauts float inside a space station & look out of the window."]
NEGATIVE = "worst quality, blurred"


def rerandomise(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if not p.is_floating_point():
                continue
            if torch.all(p == 1):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            elif "relative_attention_bias" in name:
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.05 * torch.randn(p.shape, generator=g))


def tiny_t5(seed):
    cfg = transformers.T5Config(vocab_size=160, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4,
                                relative_attention_num_buckets=8, relative_attention_max_distance=16,
                                feed_forward_proj="gated-gelu", is_encoder_decoder=False, use_cache=False,
                                layer_norm_epsilon=1e-6)
    torch.manual_seed(seed)
    model = transformers.T5EncoderModel(cfg)
    rerandomise(model, seed + 1)
    return model


class Recorder:
    def __init__(self, pipe):
        self.calls = []
        self.steps = []
        self.handle = pipe.transformer.register_forward_hook(self.hook)

    def hook(self, module, args, kwargs_or_out, out=None):
        result = out if out is not None else kwargs_or_out
        sample = result[0] if isinstance(result, (tuple, list)) else result.sample
        self.calls.append(sample.detach().clone())

    def callback(self, pipe, i, t, kw):
        self.steps.append((int(i), float(t), kw["latents"].detach().clone()))
        return {}


def run(pipe, dtype, call, ids):
    pipe = pipe.to(dtype)
    rec = Recorder(pipe)
    embeds = {}

    def cb(p, i, t, kw):
        if i == 0:
            embeds["prompt_embeds"] = kw["prompt_embeds"].detach().clone()
            if "negative_prompt_embeds" in kw and kw["negative_prompt_embeds"] is not None:
                embeds["negative_prompt_embeds"] = kw["negative_prompt_embeds"].detach().clone()
        return rec.callback(p, i, t, kw)

    with torch.no_grad():
        out = pipe(**call, latents=call_latents(call, dtype), output_type="np", callback_on_step_end=cb,
                   callback_on_step_end_tensor_inputs=["latents", "prompt_embeds", "negative_prompt_embeds"])
    rec.handle.remove()
    video = out.frames
    video = torch.from_numpy(video) if not isinstance(video, torch.Tensor) else video
    r = {"video": video}
    r.update(embeds)
    for n, c in enumerate(rec.calls):
        r[f"noise_pred.call{n}"] = c
    for i, t, lat in rec.steps:
        r[f"latents.step{i}"] = lat
    r["timesteps"] = torch.tensor([t for _, t, _ in rec.steps], dtype=torch.float64)
    r.update(ids)
    return r


LATENTS = {}


def call_latents(call, dtype):
    return LATENTS["init"].to(dtype)


def finish(folder, name, pipe_cls, call, ids, info):
    pipe = pipe_cls.from_pretrained(os.path.join(folder, "pipeline"))
    ref = run(pipe, torch.float64, call, ids)
    pipe = pipe_cls.from_pretrained(os.path.join(folder, "pipeline"))
    f32 = run(pipe, torch.float32, call, ids)
    store = lambda d: {k: (v.to(torch.float32) if v.is_floating_point() else v).contiguous() for k, v in d.items()}
    a = store(ref)
    a["latents_init"] = LATENTS["init"].contiguous()
    b = store(f32)
    b["latents_init"] = LATENTS["init"].contiguous()
    save_file(a, os.path.join(folder, "reference.safetensors"))
    save_file(b, os.path.join(folder, "reference_fp32cpu.safetensors"))
    diffs = {k: float((f32[k].double() - ref[k].double()).abs().max()) for k in ref if ref[k].is_floating_point()}
    info = dict(info)
    info.update({"call": {k: v for k, v in call.items()}, "latents_init_seed": info.get("latents_init_seed"),
                 "max_abs_diff_fp32_vs_fp64": diffs, "keys": {k: list(v.shape) for k, v in a.items()},
                 "versions": {"torch": torch.__version__, "diffusers": diffusers.__version__,
                              "transformers": transformers.__version__}})
    with open(os.path.join(folder, "reference.json"), "w") as f:
        json.dump(info, f, indent=2, default=str)
    print(name, {k: list(v.shape) for k, v in a.items() if not k.startswith("latents.step") and not k.startswith("noise_pred")},
          "calls", len([k for k in a if k.startswith("noise_pred")]), "max diff video", diffs.get("video"), flush=True)


def tokenize(tok, texts, n):
    t = tok(texts, padding="max_length", max_length=n, truncation=True, add_special_tokens=True, return_tensors="pt")
    return t.input_ids, t.attention_mask


def mochi(out, tokenizer_dir):
    from diffusers import AutoencoderKLMochi, FlowMatchEulerDiscreteScheduler, MochiPipeline, MochiTransformer3DModel
    folder = os.path.join(out, "mochi_pipeline")
    os.makedirs(folder, exist_ok=True)
    n = 16
    torch.manual_seed(10)
    transformer = MochiTransformer3DModel(patch_size=2, num_attention_heads=2, attention_head_dim=8, num_layers=2,
                                          pooled_projection_dim=12, in_channels=12, text_embed_dim=32,
                                          time_embed_dim=8, activation_fn="swiglu", max_sequence_length=n)
    rerandomise(transformer, 11)
    torch.manual_seed(12)
    vae = AutoencoderKLMochi(encoder_block_out_channels=(32, 32, 32, 32), decoder_block_out_channels=(32, 32, 32, 32),
                             latent_channels=12, layers_per_block=(1, 1, 1, 1, 1))
    rerandomise(vae, 13)
    text_encoder = tiny_t5(14)
    tokenizer = transformers.T5TokenizerFast.from_pretrained(tokenizer_dir)
    scheduler = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=1.0, use_dynamic_shifting=False,
                                                base_shift=0.5, max_shift=1.15, base_image_seq_len=256,
                                                max_image_seq_len=4096, invert_sigmas=True)
    pipe = MochiPipeline(scheduler=scheduler, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, transformer=transformer)
    pipe.save_pretrained(os.path.join(folder, "pipeline"), safe_serialization=True)
    LATENTS["init"] = torch.randn((2, 12, 3, 4, 4), generator=torch.Generator().manual_seed(2141), dtype=torch.float32)
    call = dict(prompt=PROMPTS, negative_prompt=NEGATIVE, height=32, width=32, num_frames=13, num_inference_steps=4,
                guidance_scale=4.5, num_videos_per_prompt=1, max_sequence_length=n)
    ids, mask = tokenize(tokenizer, PROMPTS, n)
    nids, nmask = tokenize(tokenizer, [NEGATIVE] * 2, n)
    finish(folder, "mochi_pipeline", MochiPipeline, call,
           {"input_ids": ids, "attention_mask": mask, "negative_input_ids": nids, "negative_attention_mask": nmask},
           {"pipeline": "MochiPipeline", "latents_init_seed": 2141,
            "notes": "The pipeline casts noise predictions and the scheduler step to float32 even in the float64 run "
                     "(as diffusers computes). noise_pred.call{i} is the transformer output for the batch "
                     "[uncond; cond] of step i. timesteps = the scheduler's t of each step (Mochi passes t, not "
                     "1000 - t, to the transformer)."})


def cogvideox(out, tokenizer_dir):
    from diffusers import AutoencoderKLCogVideoX, CogVideoXDDIMScheduler, CogVideoXPipeline, CogVideoXTransformer3DModel
    folder = os.path.join(out, "cogvideox_pipeline")
    os.makedirs(folder, exist_ok=True)
    n = 16
    torch.manual_seed(20)
    transformer = CogVideoXTransformer3DModel(num_attention_heads=2, attention_head_dim=16, in_channels=4, out_channels=4,
                                              time_embed_dim=8, text_embed_dim=32, num_layers=2, sample_width=8,
                                              sample_height=4, sample_frames=9, patch_size=2, max_text_seq_length=n,
                                              use_rotary_positional_embeddings=True, use_learned_positional_embeddings=False)
    rerandomise(transformer, 21)
    torch.manual_seed(22)
    vae = AutoencoderKLCogVideoX(block_out_channels=(16, 32, 32, 32), latent_channels=4, layers_per_block=1,
                                 norm_num_groups=8, temporal_compression_ratio=4, sample_height=32, sample_width=48)
    rerandomise(vae, 23)
    text_encoder = tiny_t5(24)
    tokenizer = transformers.T5TokenizerFast.from_pretrained(tokenizer_dir)
    scheduler = CogVideoXDDIMScheduler(beta_end=0.012, beta_schedule="scaled_linear", beta_start=0.00085,
                                       clip_sample=False, num_train_timesteps=1000, prediction_type="v_prediction",
                                       rescale_betas_zero_snr=True, set_alpha_to_one=True, snr_shift_scale=3.0,
                                       steps_offset=0, timestep_spacing="trailing")
    pipe = CogVideoXPipeline(tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, transformer=transformer, scheduler=scheduler)
    pipe.save_pretrained(os.path.join(folder, "pipeline"), safe_serialization=True)
    LATENTS["init"] = torch.randn((2, 3, 4, 4, 6), generator=torch.Generator().manual_seed(2142), dtype=torch.float32)
    call = dict(prompt=PROMPTS, negative_prompt=NEGATIVE, height=32, width=48, num_frames=9, num_inference_steps=4,
                guidance_scale=6.0, use_dynamic_cfg=True, num_videos_per_prompt=1, max_sequence_length=n)
    ids, mask = tokenize(tokenizer, PROMPTS, n)
    nids, nmask = tokenize(tokenizer, [NEGATIVE] * 2, n)
    finish(folder, "cogvideox_pipeline", CogVideoXPipeline, call,
           {"input_ids": ids, "attention_mask": mask, "negative_input_ids": nids, "negative_attention_mask": nmask},
           {"pipeline": "CogVideoXPipeline", "latents_init_seed": 2142,
            "notes": "latents_init is [B, F, C, H, W] as CogVideoXPipeline lays latents out; it is multiplied by the "
                     "scheduler's init_noise_sigma (1.0). The text encoder gets no attention mask (as the pipeline "
                     "calls it); attention_mask is stored for reference only. Noise predictions are cast to float32 "
                     "(noise_pred.float()) even in the float64 run, as diffusers computes. use_dynamic_cfg=True."})


def main():
    tokenizer_dir, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    failed = 0
    for job in (mochi, cogvideox):
        try:
            job(out, tokenizer_dir)
        except Exception:
            traceback.print_exc()
            failed += 1
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
