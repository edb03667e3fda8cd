#!/usr/bin/env python3
"""Speed reference for `vditlens bench --preset wan-14b-720p|wan2.2-ti2v-5b|hunyuan-13b-720p`: one diffusers
transformer forward at the large sizes, random bf16 weights, with the protocol of the shared bench_diffusers.py
(whose `build` and `timed` this script imports: model built on the GPU in bf16 with `_keep_in_fp32_modules` kept
float32, 2 warm-ups then 5 timed forwards with CUDA events, median; 1 + 3 when the first forward takes over 20 s;
peak = torch.cuda.max_memory_allocated over the timed forwards).

Configs and inputs equal BenchmarkPresets.cs: Wan2.1-14B (= one Wan2.2 A14B expert) at 720x1280x81 (latent 21x90x160, 75,600
tokens); Wan2.2 TI2V-5B at 704x1280x121 (latent 48x31x44x80, 27,280 tokens) with per-token timesteps [1, L], the first
latent frame at t = 0 (expand_timesteps); HunyuanVideo at 720x1280x129 (latent 33x90x160, 118,800 tokens).

Usage: DIFFUSERS_SRC=... python3 bench_forward_large.py --bench-diffusers PATH/bench_diffusers.py [--models ...] [--json out.json]
"""
import argparse
import importlib.util
import json
import time
import traceback

import torch

GiB = 1024**3

TI2V_5B = dict(patch_size=(1, 2, 2), num_attention_heads=24, attention_head_dim=128, in_channels=48, out_channels=48,
               text_dim=4096, freq_dim=256, ffn_dim=14336, num_layers=30, cross_attn_norm=True,
               qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=1024)


def randn(*shape, g):
    return torch.randn(*shape, generator=g, device="cuda", dtype=torch.bfloat16)


def wan_14b_720p(g):
    return dict(hidden_states=randn(1, 16, 21, 90, 160, g=g), timestep=torch.tensor([500], device="cuda"),
                encoder_hidden_states=randn(1, 512, 4096, g=g)), 21 * 45 * 80


def wan22_ti2v_5b(g):
    frame, tokens = 22 * 40, 31 * 22 * 40
    timestep = torch.full((1, tokens), 999, device="cuda", dtype=torch.int64)
    timestep[0, :frame] = 0
    return dict(hidden_states=randn(1, 48, 31, 44, 80, g=g), timestep=timestep,
                encoder_hidden_states=randn(1, 512, 4096, g=g)), tokens


def hunyuan_13b_720p(g):
    mask = torch.zeros(1, 256, device="cuda", dtype=torch.bfloat16)
    mask[:, :64] = 1
    return dict(hidden_states=randn(1, 16, 33, 90, 160, g=g), timestep=torch.tensor([999.0], device="cuda"),
                encoder_hidden_states=randn(1, 256, 4096, g=g), encoder_attention_mask=mask,
                pooled_projections=randn(1, 768, g=g),
                guidance=torch.tensor([6000.0], device="cuda", dtype=torch.bfloat16)), 33 * 45 * 80


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench-diffusers", required=True)
    ap.add_argument("--models", default="wan_14b_720p,wan22_ti2v_5b,hunyuan_13b_720p")
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    spec = importlib.util.spec_from_file_location("bench_diffusers", args.bench_diffusers)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    from diffusers import WanTransformer3DModel
    # Wan2.1-14B's and HunyuanVideo's configs are bench_diffusers.py's own; the TI2V-5B is new here.
    cases = {"wan_14b_720p": (*bench.wan_case("wan_14b")[:2], wan_14b_720p),
             "wan22_ti2v_5b": (WanTransformer3DModel, TI2V_5B, wan22_ti2v_5b),
             "hunyuan_13b_720p": (*bench.hunyuan_case("hunyuan_13b")[:2], hunyuan_13b_720p)}
    rows = [{"device": torch.cuda.get_device_name(0), "torch": torch.__version__}]
    print(json.dumps(rows[0]), flush=True)
    for name in [m for m in args.models.split(",") if m]:
        try:
            cls, cfg, make = cases[name]
            t0 = time.time()
            model, n_params, n_fp32 = bench.build(cls, cfg)
            g = torch.Generator(device="cuda").manual_seed(0)
            kw, tokens = make(g)
            med, times, peak, warm, iters, first = bench.timed(model, kw)
            row = {"model": name, "params": n_params, "video_tokens": tokens, "median_ms": round(med, 1),
                   "times_ms": [round(t, 1) for t in times], "peak_allocated_gib": round(peak / GiB, 2),
                   "warmup": warm, "iters": iters, "first_s": round(first, 2), "build_s": round(time.time() - t0, 1)}
        except Exception as e:
            traceback.print_exc()
            row = {"model": name, "error": repr(e)}
        rows.append(row)
        print(json.dumps(row), flush=True)
        model = kw = None
        torch.cuda.empty_cache()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
