#!/usr/bin/env python3
"""Reference fixtures for Wan image-to-video made by diffusers itself (tiny random weights, CPU).

* wan_i2v: the Wan2.1 I2V WanTransformer3DModel (image_dim, added_kv_proj_dim) forward with encoder_hidden_states_image.
  The text is 512 tokens long: diffusers' attention processor takes the last 512 context tokens as text.
* wan_flf2v: the same with pos_embed_seq_len (Wan2.1 FLF2V: two images' embeddings, first and last frame).
* clip_vision: transformers' CLIPVisionModel (the pipelines' image_encoder) and CLIPImageProcessor (image_processor):
  pixel_values of two uint8 images (one only centre-cropped, one resized and cropped), hidden_states[-2] (what
  WanImageToVideoPipeline.encode_image returns) and last_hidden_state.
* wan_i2v_pipeline: WanImageToVideoPipeline in the Wan2.1 I2V layout (image_encoder + image_processor, one
  transformer) end to end.
* wan22_i2v_pipeline: WanImageToVideoPipeline in the Wan2.2 I2V-A14B layout (transformer + transformer_2,
  boundary_ratio 0.9, no image encoder, expand_timesteps false) end to end.

Conventions as make_wan22_fixtures.py (and tests/fixtures/README.md). The text encoder, tokenizer, scheduler and the
Wan2.1 VAE (z_dim 4) of the pipelines are those of tests/fixtures/wan_pipeline/pipeline; the I2V transformers take
4 (noise) + 4 (first-frame mask) + 4 (image condition) = 12 channels.

Usage: DIFFUSERS_SRC=/path/to/diffusers_src python3 make_wan_i2v_fixtures.py WAN_PIPELINE_DIR OUT_DIR
"""
import os
import sys
import traceback
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import PIL.Image  # noqa: E402
import torch  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel  # noqa: E402

from diffusers import WanImageToVideoPipeline, WanPipeline, WanTransformer3DModel  # noqa: E402
from diffusers.pipelines.wan import pipeline_wan_i2v  # noqa: E402

from make_wan22_fixtures import (NEGATIVE, PROMPTS, diffs, finish, new_transformer, rerandomise,  # noqa: E402
                                 save_pipeline, versions, write_json)

if not hasattr(pipeline_wan_i2v, "ftfy"):
    # without ftfy installed the prompt cleaner has no fix_text; on these ASCII prompts it changes nothing
    pipeline_wan_i2v.ftfy = types.SimpleNamespace(fix_text=lambda text: text)

I2V_CHANNELS = dict(in_channels=12, out_channels=4)
IMAGE_DIM = 24
CLIP = dict(hidden_size=IMAGE_DIM, intermediate_size=37, num_hidden_layers=3, num_attention_heads=4, image_size=32,
            patch_size=8, hidden_act="gelu", layer_norm_eps=1e-5, projection_dim=16, num_channels=3)
PROCESSOR = dict(do_resize=True, size={"shortest_edge": 32}, resample=3, do_center_crop=True,
                 crop_size={"height": 32, "width": 32}, do_rescale=True, rescale_factor=1 / 255, do_normalize=True,
                 image_mean=[0.48145466, 0.4578275, 0.40821073], image_std=[0.26862954, 0.26130258, 0.27577711],
                 do_convert_rgb=True)
TEXT_CONTEXT = 512


def uint8_image(seed, height, width):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (height, width, 3), generator=g, dtype=torch.uint8)


def as_pil(u8):
    return PIL.Image.fromarray(u8.numpy())


def as_unit(u8):
    """The same image as the library takes it: float32 [1, 3, H, W] in [0, 1] (uint8 / 255)."""
    return (u8.permute(2, 0, 1).unsqueeze(0).to(torch.float32) / 255).contiguous()


def new_clip(seed):
    torch.manual_seed(seed)
    model = CLIPVisionModel(CLIPVisionConfig(**CLIP))
    rerandomise(model, seed + 1)
    return model


# ---------------------------------------------------------------- forward fixtures

def i2v_transformer(out, name, seed, pos_embed_seq_len=None):
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    extra = {} if pos_embed_seq_len is None else {"pos_embed_seq_len": pos_embed_seq_len}
    model = new_transformer(seed, image_dim=IMAGE_DIM, added_kv_proj_dim=32, **I2V_CHANNELS, **extra)
    model.save_pretrained(folder, safe_serialization=True)
    model = WanTransformer3DModel.from_pretrained(folder).eval()
    g = torch.Generator().manual_seed(seed + 2)
    x = torch.randn((2, 12, 3, 4, 6), generator=g)
    text = torch.randn((2, TEXT_CONTEXT, 32), generator=g)
    text[0, 11:] = 0
    text[1, 16:] = 0
    images_per_video = 1 if pos_embed_seq_len is None else 2
    image = torch.randn((2 * images_per_video, 17, IMAGE_DIM), generator=g)
    timestep = torch.tensor([900.0, 250.5])

    def fn(dtype):
        m = model.to(dtype)
        with torch.no_grad():
            o = m(hidden_states=x.to(dtype), timestep=timestep, encoder_hidden_states=text.to(dtype),
                  encoder_hidden_states_image=image.to(dtype), return_dict=False)[0]
            _, _, _, projected = m.condition_embedder(timestep, text.to(dtype), image.to(dtype))
        return {"output": o, "image_embedder_output": projected}

    ref = fn(torch.float64)
    run32 = fn(torch.float32)
    tensors = {"hidden_states": x, "timestep": timestep, "encoder_hidden_states": text,
               "encoder_hidden_states_image": image}
    for k, v in ref.items():
        tensors[k] = v.to(torch.float32).contiguous()
        tensors[k + "_fp32cpu"] = run32[k].to(torch.float32).contiguous()
    save_file(tensors, os.path.join(folder, "inputs_outputs.safetensors"))
    write_json(os.path.join(folder, "fixture.json"), {
        "class": "WanTransformer3DModel", "config": dict(model.config), "seed": seed, "compute_dtype": "float64",
        "call": "WanTransformer3DModel(hidden_states, timestep [B], encoder_hidden_states [B, 512, text_dim], "
                "encoder_hidden_states_image); image_embedder_output: condition_embedder.image_embedder(image)",
        "notes": "FP32LayerNorm computes in float32 even in the float64 run (diffusers casts to float). "
                 + ("" if pos_embed_seq_len is None else
                    "encoder_hidden_states_image holds 2 images per video (rows 2i, 2i+1), viewed as [B, 34, dim] "
                    "and added to pos_embed."),
        "max_abs_diff_vs_fp32cpu": diffs(ref, run32), "keys": {k: list(v.shape) for k, v in tensors.items()},
        "versions": versions()})
    print(name, diffs(ref, run32), flush=True)


def clip_vision(out):
    folder = os.path.join(out, "clip_vision")
    os.makedirs(folder, exist_ok=True)
    model = new_clip(3210)
    model.save_pretrained(folder, safe_serialization=True)
    model = CLIPVisionModel.from_pretrained(folder).eval()
    processor = CLIPImageProcessor(**PROCESSOR)
    processor.save_pretrained(folder)
    processor = CLIPImageProcessor.from_pretrained(folder)
    images = {"crop": uint8_image(3212, 32, 48), "resize": uint8_image(3213, 45, 70)}
    tensors = {}
    for key, u8 in images.items():
        tensors[f"image_{key}"] = as_unit(u8)
        tensors[f"pixel_values_{key}"] = processor(images=as_pil(u8), return_tensors="pt")["pixel_values"].to(torch.float32)

    def fn(dtype):
        m = model.to(dtype)
        r = {}
        with torch.no_grad():
            for key in images:
                o = m(pixel_values=tensors[f"pixel_values_{key}"].to(dtype), output_hidden_states=True)
                r[f"penultimate_{key}"] = o.hidden_states[-2]
                r[f"last_hidden_state_{key}"] = o.last_hidden_state
        return r

    ref = fn(torch.float64)
    run32 = fn(torch.float32)
    for k, v in ref.items():
        tensors[k] = v.to(torch.float32).contiguous()
        tensors[k + "_fp32cpu"] = run32[k].to(torch.float32).contiguous()
    save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(folder, "inputs_outputs.safetensors"))
    write_json(os.path.join(folder, "fixture.json"), {
        "class": "CLIPVisionModel", "processor_class": type(processor).__name__, "config": model.config.to_dict(),
        "processor": processor.to_dict(), "seed": 3210, "compute_dtype": "float64",
        "call": "pixel_values = image_processor(images=PIL image, return_tensors='pt').pixel_values; "
                "model(pixel_values, output_hidden_states=True): penultimate = hidden_states[-2], last_hidden_state",
        "notes": "image_{crop,resize}: the uint8 RGB images (32x48, 45x70) as float32 [1, 3, H, W] = uint8 / 255; the "
                 "processor got them as PIL images. crop: the shortest edge is already 32, only the centre crop "
                 "acts; resize: bicubic resize to shortest edge 32, then the crop.",
        "max_abs_diff_vs_fp32cpu": diffs(ref, run32), "keys": {k: list(v.shape) for k, v in tensors.items()},
        "versions": versions()})
    print("clip_vision", type(processor).__name__, diffs(ref, run32), flush=True)


# ---------------------------------------------------------------- pipelines

def finish_i2v(folder, path, call, image_u8, latents_init, info):
    finish(folder, "reference", WanImageToVideoPipeline, path, call, latents_init, info, capture_prepare=True,
           inputs={"image": as_pil(image_u8)}, extra={"image": as_unit(image_u8)})


COMMON_NOTES = ("image: the uint8 RGB image as float32 [1, 3, H, W] = uint8 / 255 (the pipeline got it as a PIL image); "
                "image_preprocessed: the video processor's [-1, 1] image; condition: prepare_latents' second output "
                "[B, 4 + z_dim, F, H, W] = cat(mask, (vae.encode([image, zeros...]).latent_dist.mode() - mean) / std): "
                "the mask's 4 channels are 1 on the first latent frame, 0 elsewhere. The transformer input is "
                "cat(latents, condition) and its timestep t per sample.")


def wan21_i2v_pipeline(out, base):
    folder = os.path.join(out, "wan_i2v_pipeline")
    os.makedirs(folder, exist_ok=True)
    base_pipe = WanPipeline.from_pretrained(base)
    transformer = new_transformer(3230, image_dim=IMAGE_DIM, added_kv_proj_dim=32, **I2V_CHANNELS)
    image_encoder = new_clip(3240)
    pipe = WanImageToVideoPipeline(tokenizer=base_pipe.tokenizer, text_encoder=base_pipe.text_encoder,
                                   vae=base_pipe.vae, scheduler=base_pipe.scheduler, transformer=transformer,
                                   image_encoder=image_encoder, image_processor=CLIPImageProcessor(**PROCESSOR))
    path = save_pipeline(pipe, folder, os.path.join(base, "tokenizer"))
    latents = torch.randn((2, 4, 3, 4, 6), generator=torch.Generator().manual_seed(3250), dtype=torch.float32)
    call = dict(prompt=PROMPTS, negative_prompt=NEGATIVE, height=32, width=48, num_frames=9, num_inference_steps=4,
                guidance_scale=5.0, num_videos_per_prompt=1, max_sequence_length=TEXT_CONTEXT)
    finish_i2v(folder, path, call, uint8_image(3260, 32, 48), latents, {
        "pipeline": "WanImageToVideoPipeline (Wan2.1 I2V layout)", "latents_init_seed": 3250, "image_seed": 3260,
        "components": "text_encoder, tokenizer, scheduler, vae = tests/fixtures/wan_pipeline/pipeline; transformer "
                      "in 12 / out 4 with image_dim 24, added_kv_proj_dim 32 (seed 3230); image_encoder = tiny "
                      "CLIPVisionModel (seed 3240), image_processor = CLIPImageProcessor (shortest edge 32, crop 32)",
        "notes": COMMON_NOTES + " pixel_values: the image processor's output; image_embeds: the image encoder's "
                                "hidden_states[-2] (one image, repeated over the batch in the transformer call). "
                                "max_sequence_length 512: diffusers' attention takes the last 512 context tokens as text."})


def wan22_i2v_pipeline(out, base):
    folder = os.path.join(out, "wan22_i2v_pipeline")
    os.makedirs(folder, exist_ok=True)
    base_pipe = WanPipeline.from_pretrained(base)
    transformer = new_transformer(3270, **I2V_CHANNELS)
    transformer_2 = new_transformer(3280, **I2V_CHANNELS)
    pipe = WanImageToVideoPipeline(tokenizer=base_pipe.tokenizer, text_encoder=base_pipe.text_encoder,
                                   vae=base_pipe.vae, scheduler=base_pipe.scheduler, transformer=transformer,
                                   transformer_2=transformer_2, boundary_ratio=0.9)
    path = save_pipeline(pipe, folder, os.path.join(base, "tokenizer"))
    latents = torch.randn((2, 4, 3, 4, 6), generator=torch.Generator().manual_seed(3290), dtype=torch.float32)
    call = dict(prompt=PROMPTS, negative_prompt=NEGATIVE, height=32, width=48, num_frames=9, num_inference_steps=4,
                guidance_scale=5.0, guidance_scale_2=3.0, num_videos_per_prompt=1, max_sequence_length=16)
    finish_i2v(folder, path, call, uint8_image(3300, 32, 48), latents, {
        "pipeline": "WanImageToVideoPipeline (Wan2.2 I2V-A14B layout)", "latents_init_seed": 3290, "image_seed": 3300,
        "components": "text_encoder, tokenizer, scheduler, vae = tests/fixtures/wan_pipeline/pipeline; transformer "
                      "(seed 3270) and transformer_2 (seed 3280) in 12 / out 4; no image_encoder / image_processor; "
                      "boundary_ratio 0.9, expand_timesteps false",
        "notes": COMMON_NOTES + " expert.step{i}: 0 = transformer (t >= 0.9 * num_train_timesteps), 1 = transformer_2; "
                                "guidance_scale with transformer, guidance_scale_2 with transformer_2."})


def main():
    base, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    print(versions(), flush=True)
    failed = 0
    for job in (lambda: wan22_i2v_pipeline(out, base), lambda: i2v_transformer(out, "wan_i2v", 3190),
                lambda: i2v_transformer(out, "wan_flf2v", 3200, pos_embed_seq_len=34), lambda: clip_vision(out),
                lambda: wan21_i2v_pipeline(out, base)):
        try:
            job()
        except Exception:  # one broken fixture must not cost the others
            traceback.print_exc()
            failed += 1
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
