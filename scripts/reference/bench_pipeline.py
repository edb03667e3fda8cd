#!/usr/bin/env python3
"""Speed reference for `vditlens bench-pipeline`: diffusers' pipeline of any family with random weights, timed by stage.

The pipeline is built from the folder `vditlens bench-pipeline --preset NAME --write-folder DIR` writes (VDiTLens'
PipelinePreset, src/VDiTLens/Pipelines/PipelinePresets.cs): model_index.json, every component's config, the tokenizer
fixtures, and bench_request.json (size, steps, guidance). So both sides read the same configs: WanPipeline,
CogVideoXPipeline, MochiPipeline or HunyuanVideoPipeline, with its transformers text encoders (T5/UMT5 encoder,
Llama + CLIP text model). Every model is created directly on the GPU in bfloat16 with random init; parameters a class
keeps in float32 when loaded with torch_dtype=bfloat16 (`_keep_in_fp32_modules`, e.g. T5's `wo`) are kept float32 here
too. Mochi-1 and HunyuanVideo decode with VAE tiling on, as diffusers' examples (and VDiTLens' pipelines) do.

Protocol (the same as PipelineBenchmark.cs): a warm-up (the prompt encodings, one denoising step at full size — two for
Mochi, whose sigma schedule needs two —, a 2-latent-frame VAE decode), then with torch.cuda.synchronize() at each
stage boundary:
  text encoding  pipe.encode_prompt(...) for the prompt and, with classifier-free guidance, the negative prompt
  denoising      pipe(prompt_embeds=..., ..., output_type="latent"); diffusers runs cond and uncond as two transformer
                 calls per step (HunyuanVideo: one call, embedded guidance); per-step times come from CUDA events
                 recorded in callback_on_step_end (no synchronisation inside the loop); progress bar off
  VAE decode     exactly the pipeline's tail for output_type="np": de-normalise, vae.decode, postprocess_video
Memory: per stage (weights, warm-up, text encoding, denoising, vae decode), torch.cuda.max_memory_allocated /
max_memory_reserved (reset at each boundary), and the device's used memory as nvidia-smi reports it minus a baseline
taken before CUDA was touched (the driver view VDiTLens also reports).

Usage: DIFFUSERS_SRC=path/to/diffusers_src python3 scripts/reference/bench_pipeline.py --folder DIR [--steps N] [--json out.json]
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
CONFIG_CLASSES = {"T5EncoderModel": "T5Config", "UMT5EncoderModel": "UMT5Config", "LlamaModel": "LlamaConfig",
                  "CLIPTextModel": "CLIPTextConfig"}


def smi_used_gib():
    try:
        out = subprocess.run(["nvidia-smi", "--id=0", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, check=True).stdout.strip()
        return float(out) / 1024
    except Exception:
        return None


def read_json(*parts):
    with open(os.path.join(*parts)) as fh:
        return json.load(fh)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--folder", required=True, help="a folder written by `vditlens bench-pipeline --write-folder`")
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    req = read_json(args.folder, "bench_request.json")
    index = read_json(args.folder, "model_index.json")
    family = index["_class_name"]
    steps = args.steps or req["num_inference_steps"]
    baseline = smi_used_gib()  # before CUDA is initialised, as VDiTLens' baseline before the build

    import torch
    import diffusers
    import transformers
    from transformers import AutoTokenizer

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
        return m, sum(p.numel() for p in m.parameters()), [keep, n_fp32]

    def transformers_config(class_name, cfg):
        cfg = {k: v for k, v in cfg.items() if k not in ("_class_name", "model_type")}
        if class_name == "LlamaModel" and int(transformers.__version__.split(".")[0]) >= 5 and "rope_theta" in cfg:
            cfg["rope_parameters"] = {"rope_type": "default", "rope_theta": cfg.pop("rope_theta")}
        return getattr(transformers, CONFIG_CLASSES[class_name])(**cfg)

    torch.manual_seed(args.seed)
    t0 = time.time()
    components, params, kept_fp32 = {}, {}, {}
    for name, (library, class_name) in ((k, v) for k, v in index.items() if isinstance(v, list)):
        path = os.path.join(args.folder, name)
        if name.startswith("tokenizer"):
            components[name] = (transformers.CLIPTokenizer if class_name == "CLIPTokenizer" else AutoTokenizer).from_pretrained(path)
        elif name == "scheduler":
            components[name] = getattr(diffusers, class_name).from_config(read_json(path, "scheduler_config.json"))
        elif library == "diffusers":
            cls = getattr(diffusers, class_name)
            cfg = {k: v for k, v in read_json(path, "config.json").items() if k != "_class_name"}
            components[name], params[name], kept_fp32[name] = build(lambda: cls.from_config(cfg), cls)
        else:
            cls = getattr(transformers, class_name)
            config = transformers_config(class_name, read_json(path, "config.json"))
            components[name], params[name], kept_fp32[name] = build(lambda: cls(config), cls)
    pipe = getattr(diffusers, family)(**components)
    pipe.set_progress_bar_config(disable=True)
    vae = pipe.vae
    if req["vae_tiling"]:
        vae.enable_tiling()
    torch.cuda.synchronize()
    build_s = time.time() - t0
    env = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "cuda": torch.version.cuda,
           "diffusers": diffusers.__version__, "transformers": transformers.__version__, "kept_fp32": kept_fp32}
    print(json.dumps(env), flush=True)
    print(f"{family} built in {build_s:.1f} s: {params}", flush=True)

    h, w, f, L = req["height"], req["width"], req["num_frames"], req["max_sequence_length"]
    guidance, embedded = req["guidance_scale"], req["embedded_guidance"]
    cfg_guided = not embedded and guidance > 1.0
    common = dict(height=h, width=w, num_frames=f, guidance_scale=guidance, max_sequence_length=L, output_type="latent")
    if family == "CogVideoXPipeline":
        common["use_dynamic_cfg"] = req["use_dynamic_cfg"]
    cuda = torch.device("cuda")

    def encode():
        """The text stage as the pipeline's __call__ runs it; returns the __call__ arguments that replace it."""
        if family == "HunyuanVideoPipeline":
            pe, pooled, mask = pipe.encode_prompt(prompt=PROMPT, prompt_2=None, device=cuda, max_sequence_length=L)
            return dict(prompt_embeds=pe, pooled_prompt_embeds=pooled, prompt_attention_mask=mask)
        if family == "MochiPipeline":
            pe, pm, ne, nm = pipe.encode_prompt(PROMPT, NEGATIVE_PROMPT, do_classifier_free_guidance=cfg_guided,
                                                max_sequence_length=L, device=cuda)
            return dict(prompt_embeds=pe, prompt_attention_mask=pm, negative_prompt_embeds=ne, negative_prompt_attention_mask=nm)
        pe, ne = pipe.encode_prompt(PROMPT, NEGATIVE_PROMPT, do_classifier_free_guidance=cfg_guided,
                                    max_sequence_length=L, device=cuda)
        return dict(prompt_embeds=pe, negative_prompt_embeds=ne)

    def decode(latents):
        """Each pipeline's __call__ tail for output_type="np"."""
        if family == "CogVideoXPipeline":
            video = pipe.decode_latents(latents)
        elif family == "MochiPipeline":
            mean = torch.tensor(vae.config.latents_mean).view(1, 12, 1, 1, 1).to(latents.device, latents.dtype)
            std = torch.tensor(vae.config.latents_std).view(1, 12, 1, 1, 1).to(latents.device, latents.dtype)
            video = vae.decode(latents * std / vae.config.scaling_factor + mean, return_dict=False)[0]
        elif family == "HunyuanVideoPipeline":
            video = vae.decode(latents.to(vae.dtype) / vae.config.scaling_factor, return_dict=False)[0]
        else:  # WanPipeline
            latents = latents.to(vae.dtype)
            mean = torch.tensor(vae.config.latents_mean).view(1, vae.config.z_dim, 1, 1, 1).to(latents.device, latents.dtype)
            inv_std = 1.0 / torch.tensor(vae.config.latents_std).view(1, vae.config.z_dim, 1, 1, 1).to(latents.device, latents.dtype)
            video = vae.decode(latents / inv_std + mean, return_dict=False)[0]
        return pipe.video_processor.postprocess_video(video, output_type="np")

    def head(latents):  # two latent frames; CogVideoX's latents are frame-major [B, F, C, H, W]
        return latents[:, :2] if family == "CogVideoXPipeline" else latents[:, :, :2]

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
        text = encode()
        lat = pipe(**text, num_inference_steps=2 if family == "MochiPipeline" else 1,
                   generator=torch.Generator("cpu").manual_seed(args.seed), **common).frames
        decode(head(lat))
        torch.cuda.synchronize()
        warmup_s = time.time() - t0
        del text, lat
        stage_end("warm-up")
        print(f"warm-up in {warmup_s:.1f} s", flush=True)

        t0 = time.perf_counter()
        text = encode()
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
        latents = pipe(**text, num_inference_steps=steps, generator=torch.Generator("cpu").manual_seed(args.seed),
                       callback_on_step_end=on_step, callback_on_step_end_tensor_inputs=[], **common).frames
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

    row = {"preset": req["preset"], "pipeline_class": family, **env, "height": h, "width": w, "frames": f, "steps": steps,
           "guidance_scale": guidance, "embedded_guidance": embedded, "use_dynamic_cfg": req["use_dynamic_cfg"],
           "vae_tiling": req["vae_tiling"], "max_sequence_length": L, "parameters": params, "build_s": round(build_s, 2),
           "warmup_s": round(warmup_s, 2), "text_encoding_ms": round(text_ms, 1), "step_ms": [round(x, 1) for x in step_ms],
           "step_median_ms": round(statistics.median(step_ms), 1), "denoise_ms": round(denoise_ms, 1),
           "decode_ms": round(decode_ms, 1), "total_ms": round(text_ms + denoise_ms + decode_ms, 1),
           "video_shape": list(video.shape), "memory": memory}
    print(json.dumps(row), flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(row, fh, indent=2)


if __name__ == "__main__":
    main()
