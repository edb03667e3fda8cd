#!/usr/bin/env python3
"""Full-size CogVideoX-5B parity: diffusers' CogVideoXTransformer3DModel with the released CogVideoX-5B transformer
config and seeded random weights, one forward at 480x720x49 (latent 13x60x90: 17,550 video + 226 text tokens).

`make` (on a GPU host with torch; diffusers from source on PYTHONPATH or DIFFUSERS_SRC):
  - builds the model in float32 from torch.manual_seed(seed); parameters diffusers initialises to a constant (norm
    gains 1, biases 0) are re-randomised (1 + N(0, 0.1), N(0, 0.02)) so no weight hides a bug; every weight is then
    rounded to bfloat16, so the float32 and bfloat16 runs below use the same stored weights;
  - writes OUT_DIR/transformer: the model in bfloat16 as a sharded diffusers checkpoint (config.json,
    diffusion_pytorch_model-0000i-of-0000n.safetensors + index), and OUT_DIR/inputs.safetensors (hidden_states [1,13,16,60,90],
    encoder_hidden_states [1,226,4096], both bfloat16-representable, stored float32; timestep int64 [1]); the rotary
    tables are not stored: CogVideoXPipeline computes them, and so does vditlens;
  - writes OUT_DIR/reference.safetensors: diffusers' output in float32 (TF32 off) as `output_fp32`, and with the model and
    inputs in bfloat16 as `output_bf16` (stored float32), the rotary tables from
    CogVideoXPipeline._prepare_rotary_positional_embeddings' function in float32 for both.
`compare OURS.safetensors` (key `output`, e.g. from `vditlens forward --dtype bf16`): relative L2 of ours and of
diffusers' bf16 against diffusers' float32; PASS when ours ≤ 1.5 × diffusers' own bf16 error.

Usage: cogvideox_full_size_parity.py make OUT_DIR [--seed 0]
       vditlens forward --model OUT_DIR/transformer --inputs OUT_DIR/inputs.safetensors --output OURS.safetensors --device cuda --dtype bf16
       cogvideox_full_size_parity.py compare OUT_DIR OURS.safetensors [--json out.json]
"""
import argparse
import json
import os
import sys
import time

DIFFUSERS_SRC = os.environ.get("DIFFUSERS_SRC", "")
if DIFFUSERS_SRC and os.path.isdir(DIFFUSERS_SRC):
    sys.path.insert(0, DIFFUSERS_SRC)
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402

# The released THUDM/CogVideoX-5b transformer/config.json (fields not listed take diffusers' defaults, which equal it).
CONFIG = dict(num_attention_heads=48, attention_head_dim=64, in_channels=16, out_channels=16, flip_sin_to_cos=True,
              freq_shift=0, time_embed_dim=512, text_embed_dim=4096, num_layers=42, dropout=0.0, attention_bias=True,
              sample_width=90, sample_height=60, sample_frames=49, patch_size=2, patch_size_t=None,
              temporal_compression_ratio=4, max_text_seq_length=226, activation_fn="gelu-approximate",
              timestep_activation_fn="silu", norm_elementwise_affine=True, norm_eps=1e-5,
              spatial_interpolation_scale=1.875, temporal_interpolation_scale=1.0,
              use_rotary_positional_embeddings=True, use_learned_positional_embeddings=False)
HEIGHT, WIDTH, FRAMES = 480, 720, 49


def rel_l2(a, b):
    a, b = a.double(), b.double()
    return ((a - b).norm() / b.norm()).item()


def rotary(latent_frames, lh, lw):
    """CogVideoXPipeline._prepare_rotary_positional_embeddings at 480x720 (the grid equals the base grid: no crop)."""
    from diffusers.models.embeddings import get_3d_rotary_pos_embed
    from diffusers.pipelines.cogvideo.pipeline_cogvideox import get_resize_crop_region_for_grid
    p = CONFIG["patch_size"]
    gh, gw = lh // p, lw // p
    base_w, base_h = CONFIG["sample_width"] // p, CONFIG["sample_height"] // p
    crops = get_resize_crop_region_for_grid((gh, gw), base_w, base_h)
    return get_3d_rotary_pos_embed(embed_dim=CONFIG["attention_head_dim"], crops_coords=crops, grid_size=(gh, gw),
                                   temporal_size=latent_frames, device=torch.device("cuda"))


def make(folder, seed):
    from diffusers import CogVideoXTransformer3DModel
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    os.makedirs(folder, exist_ok=True)
    t0 = time.time()
    torch.manual_seed(seed)
    with torch.device("cuda"):
        model = CogVideoXTransformer3DModel(**CONFIG)
    g = torch.Generator(device="cuda").manual_seed(seed + 1)
    rules = {"1+N(0,0.1)": 0, "N(0,0.02)": 0}
    with torch.no_grad():
        for _, p in model.named_parameters():
            if p.numel() > 1 and bool((p == p.flatten()[0]).all()):
                ones = bool(p.flatten()[0] == 1)
                noise = torch.randn(p.shape, generator=g, device="cuda")
                p.copy_(1 + 0.1 * noise if ones else 0.02 * noise)
                rules["1+N(0,0.1)" if ones else "N(0,0.02)"] += 1
            p.copy_(p.bfloat16().float())
    model.eval().requires_grad_(False)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"built CogVideoX-5B ({n_params:,} parameters, re-randomised {rules}) in {time.time() - t0:.1f} s", flush=True)

    lf, lh, lw = (FRAMES - 1) // CONFIG["temporal_compression_ratio"] + 1, HEIGHT // 8, WIDTH // 8
    gi = torch.Generator(device="cuda").manual_seed(seed + 2)
    inputs = {
        "hidden_states": torch.randn(1, lf, CONFIG["in_channels"], lh, lw, generator=gi, device="cuda").bfloat16().float(),
        "encoder_hidden_states": torch.randn(1, CONFIG["max_text_seq_length"], CONFIG["text_embed_dim"], generator=gi, device="cuda").bfloat16().float(),
        "timestep": torch.tensor([500], dtype=torch.int64, device="cuda"),
    }
    cos, sin = rotary(lf, lh, lw)

    def run(dtype):
        kw = {k: (v.to(dtype) if v.is_floating_point() else v) for k, v in inputs.items()}
        torch.cuda.synchronize()
        t = time.time()
        with torch.inference_mode():
            out = model(**kw, image_rotary_emb=(cos, sin), return_dict=False)[0]
        torch.cuda.synchronize()
        print(f"diffusers forward in {dtype}: {time.time() - t:.2f} s, output {list(out.shape)}", flush=True)
        return out.float().cpu()

    out32 = run(torch.float32)
    model.to(torch.bfloat16)
    out16 = run(torch.bfloat16)
    t = time.time()
    model.save_pretrained(os.path.join(folder, "transformer"), safe_serialization=True, max_shard_size="2GB")
    print(f"saved the bf16 checkpoint in {time.time() - t:.1f} s: {sorted(os.listdir(os.path.join(folder, 'transformer')))}", flush=True)
    save_file({k: v.cpu().contiguous() for k, v in inputs.items()}, os.path.join(folder, "inputs.safetensors"))
    save_file({"output_fp32": out32.contiguous(), "output_bf16": out16.contiguous()}, os.path.join(folder, "reference.safetensors"))
    with open(os.path.join(folder, "parity.json"), "w") as f:
        json.dump({"config": CONFIG, "seed": seed, "parameters": n_params, "rerandomised": rules,
                   "diffusers_bf16_vs_fp32": rel_l2(out16, out32), "torch": torch.__version__,
                   "device": torch.cuda.get_device_name(0)}, f, indent=1)
    print(f"diffusers bf16 vs fp32: relative L2 {rel_l2(out16, out32):.4e}", flush=True)


def compare(folder, ours_path, json_path):
    ref = load_file(os.path.join(folder, "reference.safetensors"))
    ours = load_file(ours_path)["output"]
    out32, out16 = ref["output_fp32"], ref["output_bf16"]
    if list(ours.shape) != list(out32.shape):
        sys.exit(f"output shape {list(ours.shape)} differs from diffusers' {list(out32.shape)}")
    ours_err, theirs_err = rel_l2(ours, out32), rel_l2(out16, out32)
    result = {"ours_bf16_vs_diffusers_fp32": ours_err, "diffusers_bf16_vs_fp32": theirs_err, "ratio": ours_err / theirs_err,
              "ours_vs_diffusers_bf16": rel_l2(ours, out16), "max_abs_ours_vs_fp32": (ours.double() - out32.double()).abs().max().item(),
              "finite": bool(torch.isfinite(ours).all()), "pass": bool(torch.isfinite(ours).all()) and ours_err <= 1.5 * theirs_err}
    print(json.dumps(result, indent=1))
    if json_path:
        with open(json_path, "w") as f:
            json.dump(result, f, indent=1)
    return 0 if result["pass"] else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["make", "compare"])
    ap.add_argument("folder")
    ap.add_argument("ours", nargs="?")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default="")
    a = ap.parse_args()
    if a.mode == "make":
        make(a.folder, a.seed)
        return 0
    return compare(a.folder, a.ours, a.json)


if __name__ == "__main__":
    sys.exit(main())
