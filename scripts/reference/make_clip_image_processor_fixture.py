#!/usr/bin/env python3
"""Reference for the CLIP image processor's steps, made with Pillow and numpy (no transformers needed).

transformers' CLIPImageProcessor (the slow, Pillow-based one) on an 8-bit RGB image: Pillow resize so the shortest edge
is size.shortest_edge (get_resize_output_image_size: the other edge int(edge * long / short)), centre crop
(top = (h - crop_h) // 2), rescale (uint8 as float64 * rescale_factor, then float32), normalise ((x - mean) / std in
float32). This script does exactly those steps with Pillow itself, and also records Pillow's raw resize of each plane
with each filter, so the resampler is pinned on its own.

Usage: python3 make_clip_image_processor_fixture.py OUT_DIR
"""
import json
import os
import struct
import sys

import numpy as np
import PIL
from PIL import Image

CONFIG = {"do_resize": True, "size": {"shortest_edge": 32}, "resample": 3, "do_center_crop": True,
          "crop_size": {"height": 32, "width": 32}, "do_rescale": True, "rescale_factor": 1 / 255,
          "do_normalize": True, "image_mean": [0.48145466, 0.4578275, 0.40821073],
          "image_std": [0.26862954, 0.26130258, 0.27577711], "do_convert_rgb": True,
          "image_processor_type": "CLIPImageProcessor"}


def save_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, array in tensors.items():
        array = np.ascontiguousarray(array)
        dtype = {np.dtype(np.float32): "F32", np.dtype(np.uint8): "U8"}[array.dtype]
        data = array.tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def processor(u8):
    h, w = u8.shape[:2]
    edge = CONFIG["size"]["shortest_edge"]
    short, long = (w, h) if w <= h else (h, w)
    new_long = int(edge * long / short)
    out_h, out_w = (new_long, edge) if w <= h else (edge, new_long)
    resized = np.array(Image.fromarray(u8).resize((out_w, out_h), resample=CONFIG["resample"], reducing_gap=None))
    ch, cw = CONFIG["crop_size"]["height"], CONFIG["crop_size"]["width"]
    top, left = (out_h - ch) // 2, (out_w - cw) // 2
    cropped = resized[top:top + ch, left:left + cw]
    rescaled = (cropped.astype(np.float64) * CONFIG["rescale_factor"]).astype(np.float32)
    mean = np.array(CONFIG["image_mean"], dtype=np.float32)
    std = np.array(CONFIG["image_std"], dtype=np.float32)
    normalised = (rescaled - mean) / std
    return normalised.transpose(2, 0, 1)[None].astype(np.float32)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(3330)
    tensors = {}
    shapes = {"crop": (32, 48), "shrink": (45, 70), "portrait": (71, 40), "grow": (20, 30)}
    for key, (h, w) in shapes.items():
        u8 = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
        tensors[f"image_{key}"] = u8.transpose(2, 0, 1)[None].copy()
        tensors[f"pixel_values_{key}"] = processor(u8)
    plane = rng.integers(0, 256, size=(37, 53), dtype=np.uint8)
    tensors["plane"] = plane
    for name, f in (("lanczos", 1), ("bilinear", 2), ("bicubic", 3)):
        for h, w in ((17, 23), (60, 90), (37, 20)):
            tensors[f"resize_{name}_{h}x{w}"] = np.array(Image.fromarray(plane).resize((w, h), resample=f, reducing_gap=None))
    save_safetensors(os.path.join(out, "inputs_outputs.safetensors"), tensors)
    with open(os.path.join(out, "preprocessor_config.json"), "w") as f:
        json.dump(CONFIG, f, indent=2)
    with open(os.path.join(out, "fixture.json"), "w") as f:
        json.dump({"made_with": {"pillow": PIL.__version__, "numpy": np.__version__}, "seed": 3330,
                   "notes": "image_*: uint8 [1, 3, H, W]; pixel_values_*: the CLIPImageProcessor steps of "
                            "preprocessor_config.json done with Pillow and numpy; plane: uint8 [37, 53]; "
                            "resize_{filter}_{h}x{w}: Pillow's Image.resize((w, h), filter) of plane.",
                   "keys": {k: list(v.shape) for k, v in tensors.items()}}, f, indent=2)


if __name__ == "__main__":
    main()
