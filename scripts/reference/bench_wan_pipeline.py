#!/usr/bin/env python3
"""Speed reference for `vditlens bench-pipeline`: diffusers' WanPipeline with random weights, timed by stage.

Components are built from the same configs as VDiTLens' WanPipelinePreset (src/VDiTLens.Studies/Benchmarks/WanPipelinePreset.cs):
WanTransformer3DModel (Wan2.1-T2V-1.3B), UMT5EncoderModel (umT5-XXL encoder), AutoencoderKLWan (Wan2.1 VAE, diffusers'
defaults), UniPCMultistepScheduler (flow sigmas, shift 3), and any T5 SentencePiece tokenizer (ids do not matter for
speed). Everything is created directly on the GPU in bfloat16 with random init; parameters a class keeps in float32
when loaded with torch_dtype=bfloat16 (`_keep_in_fp32_modules`) are kept float32 here too.

Protocol (the same as PipelineBenchmark.cs): a warm-up (both prompt encodings, one denoising step at full size, a
2-latent-frame VAE decode), then with torch.cuda.synchronize() at each stage boundary:
  text encoding  pipe.encode_prompt(prompt, negative_prompt, max_sequence_length=512)  (two encoder calls of batch 1)
  denoising      pipe(prompt_embeds=..., negative_prompt_embeds=..., output_type="latent", guidance_scale=5)
                 diffusers runs cond and uncond as two transformer calls per step; per-step times come from CUDA
                 events recorded in callback_on_step_end (no synchronisation inside the loop); progress bar off
  VAE decode     exactly the pipeline's tail: de-normalise, vae.decode, video_processor.postprocess_video(np)
Memory: per stage, torch.cuda.max_memory_allocated / max_memory_reserved (reset at each boundary), and the device's
used memory as nvidia-smi reports it minus a baseline taken before CUDA was touched (the view VDiTLens reports).

Usage: DIFFUSERS_SRC=/tmp/diffusers_src python3 scripts/reference/bench_wan_pipeline.py [--preset wan-1.3b]
       [--steps 50] [--tokenizer tests/fixtures/t5_tokenizer_spm/hf_tokenizer] [--json out.json]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

if os.environ.get("DIFFUSERS_SRC"):
    sys.path.insert(0, os.environ["DIFFUSERS_SRC"])
os.environ.setdefault("HF_HUB_OFFLINE", "1")

GiB = 1024**3
PROMPT = "A cat walks on the grass, realistic style."  # PipelineBenchmark.Prompt
NEGATIVE_PROMPT = "worst quality, blurred, static"  # PipelineBenchmark.NegativePrompt

SCHEDULER = dict(num_train_timesteps=1000, solver_order=2, prediction_type="flow_prediction", predict_x0=True,
                 solver_type="bh2", lower_order_final=True, use_flow_sigmas=True, flow_shift=3.0)
PRESETS = {
    "wan-1.3b": dict(
        transformer=dict(patch_size=(1, 2, 2), num_attention_heads=12, attention_head_dim=128, in_channels=16,
                         out_channels=16, text_dim=4096, freq_dim=256, ffn_dim=8960, num_layers=30, cross_attn_norm=True,
                         qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=1024),
        text_encoder=dict(vocab_size=256384, d_model=4096, d_kv=64, d_ff=10240, num_layers=24, num_heads=64,
                          relative_attention_num_buckets=32, relative_attention_max_distance=128, layer_norm_epsilon=1e-6,
                          feed_forward_proj="gated-gelu"),
        vae=dict(base_dim=96, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=2, attn_scales=[],
                 temperal_downsample=[False, True, True], dropout=0.0),
        height=480, width=832, frames=81, steps=50, max_sequence_length=512),
    "tiny": dict(
        transformer=dict(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=16, in_channels=16,
                         out_channels=16, text_dim=32, freq_dim=256, ffn_dim=48, num_layers=2, cross_attn_norm=True,
                         qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=32),
        text_encoder=dict(vocab_size=32128, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4,
                          relative_attention_num_buckets=8, relative_attention_max_distance=16, layer_norm_epsilon=1e-6,
                          feed_forward_proj="gated-gelu"),
        vae=dict(base_dim=4, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=1, attn_scales=[],
                 temperal_downsample=[False, True, True], dropout=0.0),
        height=32, width=48, frames=9, steps=2, max_sequence_length=16),
}


def smi_used_gib():
    try:
        out = subprocess.run(["nvidia-smi", "--id=0", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, check=True).stdout.strip()
        return float(out) / 1024
    except Exception:
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="wan-1.3b", choices=sorted(PRESETS))
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--guidance", type=float, default=5.0)
    ap.add_argument("--tokenizer", default=os.path.join("tests", "fixtures", "t5_tokenizer_spm", "hf_tokenizer"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    preset = PRESETS[args.preset]
    steps = args.steps or preset["steps"]
    baseline = smi_used_gib()  # before CUDA is initialised, as VDiTLens' baseline before the build

    import torch
    import diffusers
    import transformers
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanPipeline, WanTransformer3DModel
    from transformers import AutoTokenizer, UMT5Config, UMT5EncoderModel

    def build(make, cls):
        prev = torch.get_default_dtype()
        torch.set_default_dtype(torch.bfloat16)
        try:
            with torch.device("cuda"):
                m = make()
        finally:
            torch.set_default_dtype(prev)
        keep = list(getattr(cls, "_keep_in_fp32_modules", None) or [])
        n_fp32 = 0
        with torch.no_grad():
            for name, p in m.named_parameters():
                want = torch.float32 if keep and any(k in name.split(".") for k in keep) else torch.bfloat16
                if p.dtype != want:
                    p.data = p.data.to(want)
                n_fp32 += p.numel() if want == torch.float32 else 0
        m.eval().requires_grad_(False)
        return m, sum(p.numel() for p in m.parameters()), n_fp32, keep

    torch.manual_seed(args.seed)
    t0 = time.time()
    transformer, n_tr, fp32_tr, keep_tr = build(lambda: WanTransformer3DModel(**preset["transformer"]), WanTransformer3DModel)
    te_config = UMT5Config(is_encoder_decoder=False, use_cache=False, tie_word_embeddings=False, **preset["text_encoder"])
    text_encoder, n_te, fp32_te, keep_te = build(lambda: UMT5EncoderModel(te_config), UMT5EncoderModel)
    vae, n_vae, fp32_vae, _ = build(lambda: AutoencoderKLWan(**preset["vae"]), AutoencoderKLWan)
    tokenizer = AutoTokenizer.from_pretrained(args.tokenizer)
    pipe = WanPipeline(tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, transformer=transformer,
                       scheduler=UniPCMultistepScheduler(**SCHEDULER))
    pipe.set_progress_bar_config(disable=True)
    torch.cuda.synchronize()
    build_s = time.time() - t0
    params = {"transformer": n_tr, "text_encoder": n_te, "vae": n_vae}
    env = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "cuda": torch.version.cuda,
           "diffusers": diffusers.__version__, "transformers": transformers.__version__,
           "kept_fp32": {"transformer": [keep_tr, fp32_tr], "text_encoder": [keep_te, fp32_te], "vae": fp32_vae}}
    print(json.dumps(env), flush=True)
    print(f"built in {build_s:.1f} s: {params}", flush=True)
    h, w, f, L = preset["height"], preset["width"], preset["frames"], preset["max_sequence_length"]
    common = dict(height=h, width=w, num_frames=f, guidance_scale=args.guidance, max_sequence_length=L, output_type="latent")

    def encode():
        return pipe.encode_prompt(PROMPT, NEGATIVE_PROMPT, do_classifier_free_guidance=args.guidance > 1.0,
                                  max_sequence_length=L, device=torch.device("cuda"))

    def decode(latents):  # WanPipeline.__call__'s tail for output_type="np"
        latents = latents.to(vae.dtype)
        mean = torch.tensor(vae.config.latents_mean).view(1, vae.config.z_dim, 1, 1, 1).to(latents.device, latents.dtype)
        inv_std = 1.0 / torch.tensor(vae.config.latents_std).view(1, vae.config.z_dim, 1, 1, 1).to(latents.device, latents.dtype)
        video = vae.decode(latents / inv_std + mean, return_dict=False)[0]
        return pipe.video_processor.postprocess_video(video, output_type="np")

    memory = {}

    def stage_end(name):
        torch.cuda.synchronize()
        smi = smi_used_gib()
        memory[name] = {"max_allocated_gib": round(torch.cuda.max_memory_allocated() / GiB, 2),
                        "max_reserved_gib": round(torch.cuda.max_memory_reserved() / GiB, 2),
                        "driver_used_over_baseline_gib": None if smi is None or baseline is None else round(smi - baseline, 2)}
        torch.cuda.reset_peak_memory_stats()

    with torch.inference_mode():
        stage_end("weights")
        t0 = time.time()
        pe, ne = encode()
        lat = pipe(prompt_embeds=pe, negative_prompt_embeds=ne, num_inference_steps=1,
                   generator=torch.Generator("cpu").manual_seed(args.seed), **common).frames
        decode(lat[:, :, :2])
        torch.cuda.synchronize()
        warmup_s = time.time() - t0
        del pe, ne, lat
        print(f"warm-up in {warmup_s:.1f} s", flush=True)
        torch.cuda.reset_peak_memory_stats()

        t0 = time.perf_counter()
        pe, ne = encode()
        torch.cuda.synchronize()
        text_ms = (time.perf_counter() - t0) * 1e3
        stage_end("text encoding")
        print(f"text encoding {text_ms:.1f} ms", flush=True)

        events = [torch.cuda.Event(enable_timing=True)]

        def on_step(_pipe, i, t, kwargs):
            e = torch.cuda.Event(enable_timing=True)
            e.record()
            events.append(e)
            return {}

        t0 = time.perf_counter()
        events[0].record()
        latents = pipe(prompt_embeds=pe, negative_prompt_embeds=ne, num_inference_steps=steps,
                       generator=torch.Generator("cpu").manual_seed(args.seed), callback_on_step_end=on_step,
                       callback_on_step_end_tensor_inputs=[], **common).frames
        torch.cuda.synchronize()
        denoise_ms = (time.perf_counter() - t0) * 1e3
        step_ms = [a.elapsed_time(b) for a, b in zip(events, events[1:])]
        stage_end("denoising")
        print(f"denoising {denoise_ms:.1f} ms ({steps} steps, median {statistics.median(step_ms):.1f} ms)", flush=True)

        t0 = time.perf_counter()
        video = decode(latents)
        torch.cuda.synchronize()
        decode_ms = (time.perf_counter() - t0) * 1e3
        stage_end("vae decode")
        print(f"vae decode {decode_ms:.1f} ms, video {list(video.shape)} {video.dtype}", flush=True)

    row = {"preset": args.preset, **env, "height": h, "width": w, "frames": f, "steps": steps, "guidance_scale": args.guidance,
           "max_sequence_length": L, "parameters": params, "build_s": round(build_s, 2), "warmup_s": round(warmup_s, 2),
           "text_encoding_ms": round(text_ms, 1), "step_ms": [round(x, 1) for x in step_ms],
           "step_median_ms": round(statistics.median(step_ms), 1), "denoise_ms": round(denoise_ms, 1),
           "decode_ms": round(decode_ms, 1), "total_ms": round(text_ms + denoise_ms + decode_ms, 1),
           "video_shape": list(video.shape), "memory": memory}
    print(json.dumps(row), flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(row, fh, indent=2)


if __name__ == "__main__":
    main()
