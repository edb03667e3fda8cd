#!/usr/bin/env python3
"""Reference fixtures for the CogVideoX, Mochi-1 and HunyuanVideo VAEs and the CLIP text encoder.

Same conventions as tests/fixtures/README.md: tiny config, torch.manual_seed + constructor, every floating
parameter re-randomised (all-ones tensors -> 1 + N(0, 0.1), everything else N(0, 0.05)), saved with
save_pretrained (safetensors, float32), re-loaded, reference computed in float64 on the CPU and stored as float32,
plus a float32 CPU run of the same model (`*_fp32cpu`). Written on a host with torch + transformers; diffusers is
imported from DIFFUSERS_SRC (an unpacked diffusers source tree).

Usage: DIFFUSERS_SRC=/path/to/diffusers_src python3 make_family_fixtures.py OUT_DIR
"""
import json
import os
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


def rerandomise(model, seed):
    g = torch.Generator().manual_seed(seed)
    counts = {"ones": 0, "other": 0}
    with torch.no_grad():
        for _, p in model.named_parameters():
            if not p.is_floating_point():
                continue
            if torch.all(p == 1):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
                counts["ones"] += 1
            else:
                p.copy_(0.05 * torch.randn(p.shape, generator=g))
                counts["other"] += 1
    return counts


def save_and_reload(model, cls, folder):
    model.save_pretrained(folder, safe_serialization=True)
    return cls.from_pretrained(folder).eval()


def run_both(model, fn):
    """fn(model, dtype) -> dict of tensors; returns float64 reference and float32 run."""
    with torch.no_grad():
        ref = fn(model.to(torch.float64), torch.float64)
        f32 = fn(model.to(torch.float32), torch.float32)
    return ref, f32


def write(folder, name, info, inputs, ref, f32):
    tensors = {k: v.contiguous() for k, v in inputs.items()}
    diffs = {}
    for k, v in ref.items():
        tensors[k] = v.to(torch.float32).contiguous()
        tensors[k + "_fp32cpu"] = f32[k].to(torch.float32).contiguous()
        diffs[k] = float((f32[k].double() - v.double()).abs().max())
    save_file(tensors, os.path.join(folder, "inputs_outputs.safetensors"))
    info = dict(info)
    info["max_abs_diff_vs_fp32cpu"] = diffs
    info["keys"] = {k: list(v.shape) for k, v in tensors.items()}
    info["versions"] = {"torch": torch.__version__, "diffusers": diffusers.__version__, "transformers": transformers.__version__}
    with open(os.path.join(folder, "fixture.json"), "w") as f:
        json.dump(info, f, indent=2)
    print(name, {k: list(v.shape) for k, v in ref.items()}, diffs, flush=True)


def vae_fixture(out, name, cls, config, z_shape, video_shape, seed, notes):
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    torch.manual_seed(seed)
    model = cls(**config)
    counts = rerandomise(model, seed + 1)
    model = save_and_reload(model, cls, folder)
    g = torch.Generator().manual_seed(seed + 2)
    z = torch.randn(z_shape, generator=g)
    video = torch.rand(video_shape, generator=g) * 2 - 1

    def fn(m, dtype):
        dec = m.decode(z.to(dtype)).sample
        dist = m.encode(video.to(dtype)).latent_dist
        return {"decode": dec, "encode_mean": dist.mean, "encode_logvar": dist.logvar}

    ref, f32 = run_both(model, fn)
    write(folder, name, {"class": cls.__name__, "config": dict(model.config), "seed": seed, "rerandomised": counts,
                         "compute_dtype": "float64", "call": "decode(z).sample; encode(video).latent_dist (mean, logvar)",
                         "notes": notes}, {"z": z, "video": video}, ref, f32)


def clip_fixture(out, seed):
    name = "clip_text"
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    cfg = transformers.CLIPTextConfig(vocab_size=99, hidden_size=32, intermediate_size=37, num_hidden_layers=2,
                                      num_attention_heads=4, max_position_embeddings=77, hidden_act="quick_gelu",
                                      layer_norm_eps=1e-5, projection_dim=32, bos_token_id=0, pad_token_id=1,
                                      eos_token_id=2)
    torch.manual_seed(seed)
    model = transformers.CLIPTextModel(cfg)
    counts = rerandomise(model, seed + 1)
    model = save_and_reload(model, transformers.CLIPTextModel, folder)
    g = torch.Generator().manual_seed(seed + 2)
    # As CLIP's tokenizer pads: BOS, words, EOS (the largest id, as 49407 is in the real vocabulary), then padding
    # with the EOS id as openai/clip-vit-large-patch14's tokenizer does.
    ids = torch.randint(3, 98, (2, 77), generator=g)
    eos = 98
    ids[:, 0] = 0
    ids[0, 9:] = eos
    ids[1, 76] = eos

    def fn(m, dtype):
        o = m(input_ids=ids, output_hidden_states=True)
        r = {"last_hidden_state": o.last_hidden_state, "pooler_output": o.pooler_output}
        for i, h in enumerate(o.hidden_states):
            r[f"hidden_states.{i}"] = h
        return r

    ref, f32 = run_both(model, fn)
    write(folder, name, {"class": "CLIPTextModel", "config": cfg.to_dict(), "seed": seed, "rerandomised": counts,
                         "compute_dtype": "float64",
                         "call": "CLIPTextModel(input_ids, output_hidden_states=True) without attention_mask, as HunyuanVideoPipeline calls text_encoder_2",
                         "notes": "eos_token_id == 2 selects transformers' legacy pooling: the row of argmax(input_ids); the largest id (98) plays EOS. Row 0 has EOS at 9 and EOS padding after it."},
          {"input_ids": ids}, ref, f32)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    from diffusers import AutoencoderKLCogVideoX, AutoencoderKLHunyuanVideo, AutoencoderKLMochi

    jobs = [lambda: clip_fixture(out, 100), lambda: vae_fixture(out, "cogvideox_vae", AutoencoderKLCogVideoX,
                dict(block_out_channels=(16, 32, 32, 32), latent_channels=4, layers_per_block=1, norm_num_groups=8,
                     temporal_compression_ratio=4, sample_height=32, sample_width=32),
                (1, 4, 5, 4, 4), (1, 3, 17, 32, 32), 200,
                "decode batches latent frames by num_latent_frames_batch_size=2 (here [0:3], [3:5]) with conv caches; "
                "encode batches frames by num_sample_frames_batch_size=8 ([0:9], [9:17]). No tiling."),
            lambda: vae_fixture(out, "mochi_vae", AutoencoderKLMochi,
                dict(encoder_block_out_channels=(32, 32, 64, 64), decoder_block_out_channels=(32, 32, 64, 64),
                     latent_channels=4, layers_per_block=(1, 1, 1, 1, 1), latents_mean=(0.0,) * 4,
                     latents_std=(1.0,) * 4),
                (1, 4, 3, 4, 4), (1, 3, 13, 32, 32), 300,
                "default (not framewise) decode, drop_last_temporal_frames=True; encode not framewise."),
            lambda: vae_fixture(out, "hunyuan_video_vae", AutoencoderKLHunyuanVideo,
                dict(block_out_channels=(16, 32, 32, 32), latent_channels=4, layers_per_block=1, norm_num_groups=8),
                (1, 4, 3, 4, 4), (1, 3, 9, 32, 32), 400,
                "use_framewise_encoding/decoding are True by default but only apply with tiling; no tiling here.")]
    failed = 0
    for job in jobs:
        try:
            job()
        except Exception:  # one broken fixture must not cost the others
            traceback.print_exc()
            failed += 1
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
