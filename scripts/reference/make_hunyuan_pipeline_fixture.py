#!/usr/bin/env python3
"""End-to-end reference fixture for diffusers' HunyuanVideoPipeline (tiny random weights), its two tokenizers on
hard cases, and tiled VAE decodes of the Mochi-1 and HunyuanVideo VAEs.

Conventions as make_pipeline_fixtures.py: tiny components, every floating parameter re-randomised (all-ones tensors ->
1 + N(0, 0.1), everything else N(0, 0.05)), save_pretrained (float32 safetensors), re-loaded, the pipeline run with
explicit initial latents once cast to float64 on the CPU (`reference_{call}.safetensors`, stored as float32) and once
in float32 (only its relative L2 gap to the float64 run is kept, in `reference.json`).

No real Llama-3 or CLIP tokenizer can be downloaded, so both are made here:
* tokenizer/ : a byte-level BPE trained with `tokenizers` on a small corpus (which includes the pipeline's prompt
  template), with Llama-3's pre-tokenizer regex (Split, Isolated) + ByteLevel(use_regex=False), ByteLevel decoder,
  `ignore_merges`, Llama-3's special tokens appended after the vocabulary, `<pad>` and `<image>` as the HunyuanVideo
  (llava-llama-3) tokenizer adds them, and the TemplateProcessing post-processor that prepends <|begin_of_text|>.
* tokenizer_2/ : a CLIP vocabulary built as OpenAI's CLIP builds it (256 byte symbols, the same with </w>, one entry
  per merge, <|startoftext|>, <|endoftext|>) from merges learned here on the same corpus (lower-cased, CLIP's regex).

Usage: DIFFUSERS_SRC=/path/to/diffusers_src python3 make_hunyuan_pipeline_fixture.py OUT_DIR [VAE_FIXTURES_DIR]
VAE_FIXTURES_DIR: tests/fixtures (its mochi_vae/ and hunyuan_video_vae/ weights are decoded with tiling).
"""
import collections
import json
import os
import shutil
import sys
import traceback

src = os.environ.get("DIFFUSERS_SRC")
if src:
    sys.path.insert(0, src)
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import regex  # noqa: E402
import torch  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

import diffusers  # noqa: E402
import tokenizers  # noqa: E402
import transformers  # noqa: E402

torch.set_num_threads(min(16, os.cpu_count() or 1))

LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
                  r"\s*[\r\n]+|\s+(?!\S)|\s+")
LLAMA3_SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
                   "<|reserved_special_token_1|>", "<|finetune_right_pad_id|>", "<|step_id|>", "<|start_header_id|>",
                   "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>", "<|python_tag|>"]
CLIP_PATTERN = r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""

PROMPTS = ["A cat walks on the grass, realistic",
           "Two astronauts float inside a space station & look out of the window at the blue Earth."]
NEGATIVE = "worst quality, blurred"

HARD_CASES = [
    "A cat walks on the grass, realistic",
    "",
    " ",
    "  leading and trailing spaces  ",
    "multiple   spaces\tand\ttabs\t\t end",
    "line one\nline two\n\n\nthree newlines\r\nwindows\rcarriage",
    "Café naïve résumé façade Ångström Øre",
    "decomposed: Cafe\u0301 and n\u0303",
    "emoji 🐱🚀 flags 🇯🇵 family 👨\u200d👩\u200d👧 skin 👍🏽",
    "日本語のテキスト and 中文混合 한국어",
    "Привет мир, Ελληνικά ΟΔΟΣ, İstanbul",
    "math 𝒜𝓁𝓅𝒽𝒶 𝟙𝟚𝟛 astral letters and digits",
    "numbers 1234567 3.14159 1,000,000 ٣٤٥",
    "contractions: I'm, you're, it's, we'll, they've, I'd, DON'T, He'S, o'clock",
    "punctuation!!! ... ??? --- ((brackets)) [x] {y} <z> @#$%^&*",
    "special tokens <|begin_of_text|>inline<|eot_id|> and <|endoftext|> here",
    "URL https://example.com/path?q=1&x=y#frag",
    "quotes “curly” ‘single’ «guillemets» — dash",
    "zero\u200bwidth non\u00a0breaking\u3000ideographic space",
    "control\u0007bell\u000bvt\u000cff\u0085nel",
    "   \n  \n",
    "Long prompt: " + " ".join(["A red fox jumps over the lazy dog near the river bank at sunset."] * 20),
]


def prompt_template():
    from diffusers.pipelines.hunyuan_video.pipeline_hunyuan_video import DEFAULT_PROMPT_TEMPLATE
    return DEFAULT_PROMPT_TEMPLATE


def corpus():
    template = prompt_template()["template"]
    base = [
        "A cat walks on the grass, realistic. A dog runs in the park. The sun sets over the sea.",
        "Two astronauts float inside a space station and look out of the window at the blue Earth.",
        "A red fox jumps over the lazy dog near the river bank at sunset, cinematic lighting, 4k.",
        "Close-up of a chameleon's eye, with its scaly skin changing color. Ultra high resolution 4k.",
        "worst quality, blurred, low resolution, static, distorted faces, extra fingers.",
        "The camera pans slowly across a snowy mountain range; clouds drift by in the morning light.",
        "It's a beautiful day, isn't it? We'll go to the beach and they've said I'd like it.",
        "Numbers like 1, 2, 3, 10, 100, 2024 and 3.14 appear in the text.",
    ]
    return [template.format(p) for p in base] * 30 + base * 10 + HARD_CASES


def make_llama_tokenizer(folder):
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=900, min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=[])
    tok.train_from_iterator(corpus(), trainer)
    tok.add_special_tokens(LLAMA3_SPECIALS)
    tok.add_special_tokens(["<pad>", "<image>"])
    bos = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|>:1 $B:1",
                                      special_tokens=[("<|begin_of_text|>", bos)])])
    raw = json.loads(tok.to_str())
    raw["model"]["ignore_merges"] = True  # as Meta-Llama-3's tokenizer.json
    tok = Tokenizer.from_str(json.dumps(raw))
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "tokenizer.json")
    tok.save(path)
    fast = transformers.PreTrainedTokenizerFast(tokenizer_file=path, bos_token="<|begin_of_text|>",
                                                eos_token="<|end_of_text|>", pad_token="<pad>", padding_side="right",
                                                model_max_length=131072)
    return fast


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def make_clip_tokenizer(folder, n_merges=600):
    b2u = bytes_to_unicode()
    pat = regex.compile(CLIP_PATTERN, regex.IGNORECASE)
    words = collections.Counter()
    for text in corpus():
        for w in pat.findall(regex.sub(r"\s+", " ", text).strip().lower()):
            syms = [b2u[b] for b in w.encode("utf-8")]
            syms[-1] += "</w>"
            words[tuple(syms)] += 1
    base = list(b2u.values())
    vocab = base + [v + "</w>" for v in base]
    known = set(vocab)
    merges = []
    while len(merges) < n_merges:
        pairs = collections.Counter()
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] += c
        ranked = sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))
        best = next((p for p, c in ranked if c >= 2 and (p[0] + p[1]) not in known), None)
        if best is None:
            break
        merges.append(best)
        known.add(best[0] + best[1])
        vocab.append(best[0] + best[1])
        new = collections.Counter()
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            new[tuple(out)] += c
        words = new
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump({v: i for i, v in enumerate(vocab)}, f, ensure_ascii=False)
    with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    return transformers.CLIPTokenizer.from_pretrained(folder, model_max_length=77)


def rerandomise(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, p in model.named_parameters():
            if not p.is_floating_point():
                continue
            if torch.all(p == 1):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.05 * torch.randn(p.shape, generator=g))


def ids_of(tok, text, **kw):
    return [int(i) for i in tok(text, **kw)["input_ids"]]


def tokenization_record(llama, clip, llama_dir, clip_dir):
    """Ids of every hard case through the tokenizers the pipeline uses, plus alternative constructions for comparison."""
    rec = {"texts": HARD_CASES, "llama": {}, "clip": {}, "agreement": {}}
    rec["llama"]["class"] = type(llama).__name__
    rec["llama"]["ids"] = [ids_of(llama, t) for t in HARD_CASES]
    rec["llama"]["ids_no_special"] = [ids_of(llama, t, add_special_tokens=False) for t in HARD_CASES]
    for n in (16, 40):
        b = llama(HARD_CASES, padding="max_length", max_length=n, truncation=True)
        rec["llama"][f"max_length_{n}"] = {"input_ids": b["input_ids"], "attention_mask": b["attention_mask"]}
    rec["clip"]["class"] = type(clip).__name__
    rec["clip"]["ids"] = [ids_of(clip, t) for t in HARD_CASES]
    b = clip(HARD_CASES, padding="max_length", max_length=77, truncation=True)
    rec["clip"]["max_length_77"] = {"input_ids": b["input_ids"], "attention_mask": b["attention_mask"]}
    alternatives = {
        "llama_LlamaTokenizerFast.from_pretrained": lambda: transformers.LlamaTokenizerFast.from_pretrained(llama_dir),
        "llama_AutoTokenizer.from_pretrained": lambda: transformers.AutoTokenizer.from_pretrained(llama_dir),
        "llama_tokenizers.Tokenizer": None,
        "clip_CLIPTokenizer.from_pretrained": lambda: transformers.CLIPTokenizer.from_pretrained(clip_dir),
        "clip_CLIPTokenizerFast.from_pretrained": lambda: transformers.CLIPTokenizerFast.from_pretrained(clip_dir),
    }
    for name, make in alternatives.items():
        try:
            if make is None:
                raw = tokenizers.Tokenizer.from_file(os.path.join(llama_dir, "tokenizer.json"))
                got = [raw.encode(t).ids for t in HARD_CASES]
            else:
                t = make()
                got = [ids_of(t, x) for x in HARD_CASES]
                name = f"{name} ({type(t).__name__})"
            ref = rec["llama" if name.startswith("llama") else "clip"]["ids"]
            rec["agreement"][name] = [i for i, (a, b) in enumerate(zip(got, ref)) if a != b]
        except Exception as e:  # recorded, not fatal
            rec["agreement"][name] = f"failed: {type(e).__name__}: {e}"
    template = prompt_template()
    prefix = template["template"].split("{}")[0]
    rec["template"] = template
    rec["template_prefix_tokens"] = len(ids_of(llama, prefix))
    return rec


class Recorder:
    def __init__(self, pipe):
        self.calls = []
        self.handle = pipe.transformer.register_forward_hook(self.hook)

    def hook(self, module, args, out):
        self.calls.append((out[0] if isinstance(out, (tuple, list)) else out.sample).detach().clone())


def run_pipeline(folder, dtype, call, latents_init):
    from diffusers import HunyuanVideoPipeline
    pipe = HunyuanVideoPipeline.from_pretrained(os.path.join(folder, "pipeline")).to(dtype)
    r = {}
    with torch.no_grad():
        for tag, prompts in (("", call["prompt"]), ("negative_", [call.get("negative_prompt") or ""] * len(call["prompt"]))):
            e, pooled, mask = pipe.encode_prompt(prompt=prompts, max_sequence_length=call["max_sequence_length"])
            r[f"{tag}prompt_embeds"], r[f"{tag}pooled_prompt_embeds"], r[f"{tag}prompt_attention_mask"] = e, pooled, mask
    rec = Recorder(pipe)
    steps = []

    def cb(p, i, t, kw):
        steps.append((int(i), float(t), kw["latents"].detach().clone()))
        return {}

    with torch.no_grad():
        out = pipe(**call, latents=latents_init.to(dtype), output_type="np", callback_on_step_end=cb,
                   callback_on_step_end_tensor_inputs=["latents"])
    rec.handle.remove()
    video = out.frames
    r["video"] = torch.from_numpy(video) if not isinstance(video, torch.Tensor) else video
    for n, c in enumerate(rec.calls):
        r[f"noise_pred.call{n}"] = c
    for i, t, lat in steps:
        r[f"latents.step{i}"] = lat
    r["timesteps"] = torch.tensor([t for _, t, _ in steps], dtype=torch.float64)
    r["sigmas"] = pipe.scheduler.sigmas.to(torch.float64)
    return r


def pipeline_fixture(out):
    from diffusers import (AutoencoderKLHunyuanVideo, FlowMatchEulerDiscreteScheduler, HunyuanVideoPipeline,
                           HunyuanVideoTransformer3DModel)
    folder = os.path.join(out, "hunyuan_video_pipeline")
    work = os.path.join(folder, "_tokenizers")
    llama_tok = make_llama_tokenizer(os.path.join(work, "llama"))
    clip_tok = make_clip_tokenizer(os.path.join(work, "clip"))
    torch.manual_seed(30)
    transformer = HunyuanVideoTransformer3DModel(in_channels=4, out_channels=4, num_attention_heads=2, attention_head_dim=16,
                                                 num_layers=1, num_single_layers=1, num_refiner_layers=1, mlp_ratio=4.0,
                                                 patch_size=2, patch_size_t=1, qk_norm="rms_norm", guidance_embeds=True,
                                                 text_embed_dim=32, pooled_projection_dim=16, rope_theta=256.0,
                                                 rope_axes_dim=(4, 6, 6))
    rerandomise(transformer, 31)
    torch.manual_seed(32)
    vae = AutoencoderKLHunyuanVideo(block_out_channels=(16, 32, 32, 32), latent_channels=4, layers_per_block=1,
                                    norm_num_groups=8)
    rerandomise(vae, 33)
    lcfg = transformers.LlamaConfig(vocab_size=len(llama_tok), hidden_size=32, intermediate_size=64, num_hidden_layers=4,
                                    num_attention_heads=4, num_key_value_heads=2, head_dim=8, max_position_embeddings=512,
                                    rms_norm_eps=1e-5, rope_theta=500000.0, hidden_act="silu",
                                    rope_parameters={"rope_type": "default", "rope_theta": 500000.0}, tie_word_embeddings=False,
                                    bos_token_id=llama_tok.bos_token_id, eos_token_id=llama_tok.eos_token_id,
                                    pad_token_id=llama_tok.pad_token_id)
    torch.manual_seed(34)
    text_encoder = transformers.LlamaModel(lcfg)
    rerandomise(text_encoder, 35)
    inv_freq = text_encoder.rotary_emb.inv_freq.double()
    expected = 1.0 / (500000.0 ** (torch.arange(0, 8, 2, dtype=torch.float64) / 8))
    print("llama rope inv_freq", inv_freq.tolist(), "expected (theta 500000)", expected.tolist(), flush=True)
    ccfg = transformers.CLIPTextConfig(vocab_size=len(clip_tok.get_vocab()), hidden_size=16, intermediate_size=32,
                                       num_hidden_layers=2, num_attention_heads=2, max_position_embeddings=77,
                                       hidden_act="quick_gelu", layer_norm_eps=1e-5, projection_dim=16,
                                       bos_token_id=0, pad_token_id=1, eos_token_id=2)
    torch.manual_seed(36)
    text_encoder_2 = transformers.CLIPTextModel(ccfg)
    rerandomise(text_encoder_2, 37)
    scheduler = FlowMatchEulerDiscreteScheduler(shift=7.0)
    pipe = HunyuanVideoPipeline(text_encoder=text_encoder, tokenizer=llama_tok, transformer=transformer, vae=vae,
                                scheduler=scheduler, text_encoder_2=text_encoder_2, tokenizer_2=clip_tok)
    pdir = os.path.join(folder, "pipeline")
    pipe.save_pretrained(pdir, safe_serialization=True)
    # The hub layout's tokenizer_2 is vocab.json + merges.txt; make sure both are there whatever save_pretrained wrote.
    for f in ("vocab.json", "merges.txt"):
        shutil.copy(os.path.join(work, "clip", f), os.path.join(pdir, "tokenizer_2", f))
    tokens = tokenization_record(llama_tok, clip_tok, os.path.join(pdir, "tokenizer"), os.path.join(pdir, "tokenizer_2"))
    shutil.rmtree(work)

    latents_init = torch.randn((2, 4, 3, 4, 6), generator=torch.Generator().manual_seed(2143), dtype=torch.float32)
    n = 16
    calls = {
        "embedded": dict(prompt=PROMPTS, height=32, width=48, num_frames=9, num_inference_steps=4, guidance_scale=6.0,
                         max_sequence_length=n),
        "true_cfg": dict(prompt=PROMPTS, negative_prompt=NEGATIVE, true_cfg_scale=3.5, height=32, width=48, num_frames=9,
                         num_inference_steps=3, guidance_scale=4.0, max_sequence_length=n),
    }
    template = prompt_template()
    texts = [template["template"].format(p) for p in PROMPTS]
    tok = pipe.tokenizer
    t = tok(texts, max_length=n + template["crop_start"], padding="max_length", truncation=True, return_tensors="pt")
    t2 = pipe.tokenizer_2(PROMPTS, padding="max_length", max_length=77, truncation=True, return_tensors="pt")
    neg = tok([template["template"].format(NEGATIVE)] * 2, max_length=n + template["crop_start"], padding="max_length",
              truncation=True, return_tensors="pt")
    ids = {"input_ids": t.input_ids, "attention_mask": t.attention_mask, "clip_input_ids": t2.input_ids,
           "negative_input_ids": neg.input_ids, "negative_attention_mask": neg.attention_mask}
    info = {"pipeline": "HunyuanVideoPipeline", "latents_init_seed": 2143, "calls": calls, "prompt_template": template,
            "template_prefix_tokens": tokens["template_prefix_tokens"],
            "configs": {"text_encoder": lcfg.to_dict(), "text_encoder_2": ccfg.to_dict()},
            "notes": "prompt_embeds / pooled_prompt_embeds / prompt_attention_mask come from pipe.encode_prompt "
                     "(Llama hidden_states[-3] cropped at crop_start; CLIP pooler_output of the prompt); negative_* the "
                     "same for the negative prompt (empty string in the 'embedded' call). noise_pred.call{i}: the "
                     "transformer outputs in call order (true_cfg: cond then uncond per step). latents.step{i} after "
                     "scheduler step i. input_ids etc.: the tokenizers called as the pipeline calls them.",
            "versions": {"torch": torch.__version__, "diffusers": diffusers.__version__,
                         "transformers": transformers.__version__, "tokenizers": tokenizers.__version__}}
    with open(os.path.join(folder, "tokenization.json"), "w", encoding="utf-8") as f:
        json.dump(tokens, f, ensure_ascii=False, indent=1)
    store = lambda d: {k: (v.to(torch.float32) if v.is_floating_point() else v).contiguous() for k, v in d.items()}
    diffs = {}
    for name, call in calls.items():
        ref = run_pipeline(folder, torch.float64, call, latents_init)
        f32 = run_pipeline(folder, torch.float32, call, latents_init)
        a = store(ref)
        a["latents_init"] = latents_init.contiguous()
        a.update({k: v.contiguous() for k, v in ids.items()})
        save_file(a, os.path.join(folder, f"reference_{name}.safetensors"))
        rel = lambda x, y: float((x.double() - y.double()).norm() / max(y.double().norm(), 1e-30))
        diffs[name] = {k: rel(f32[k], ref[k]) for k in ref if ref[k].is_floating_point()}
        info.setdefault("keys", {})[name] = {k: list(v.shape) for k, v in a.items()}
        print(name, "video", list(a["video"].shape), "calls", len([k for k in a if k.startswith("noise_pred")]),
              "rel fp32 vs fp64 video", diffs[name]["video"], flush=True)
    info["relative_l2_fp32_vs_fp64"] = diffs
    with open(os.path.join(folder, "reference.json"), "w") as f:
        json.dump(info, f, indent=2, default=str)
    print("template prefix tokens", tokens["template_prefix_tokens"], "agreement", tokens["agreement"], flush=True)


def tiling_fixture(out, vae_dir):
    """Tiled decodes (diffusers' enable_tiling with small tiles so tiny latents are split) of the family VAE fixtures."""
    from diffusers import AutoencoderKLHunyuanVideo, AutoencoderKLMochi
    cases = [
        ("hunyuan", AutoencoderKLHunyuanVideo, "hunyuan_video_vae", (1, 4, 3, 6, 8),
         dict(tile_sample_min_height=32, tile_sample_min_width=32, tile_sample_stride_height=24, tile_sample_stride_width=16)),
        ("mochi", AutoencoderKLMochi, "mochi_vae", (1, 4, 3, 6, 8),
         dict(tile_sample_min_height=32, tile_sample_min_width=32, tile_sample_stride_height=24, tile_sample_stride_width=16)),
    ]
    for name, cls, sub, shape, tiling in cases:
        tensors, info = {}, {}
        vae = cls.from_pretrained(os.path.join(vae_dir, sub)).eval()
        defaults = {k: v for k, v in vars(vae).items() if k.startswith("tile_") or k.startswith("use_")}
        z = torch.randn(shape, generator=torch.Generator().manual_seed(500), dtype=torch.float32)
        tensors[f"{name}.z"] = z
        for dtype, suffix in ((torch.float64, ""), (torch.float32, "_fp32cpu")):
            vae = vae.to(dtype)
            with torch.no_grad():
                vae.disable_tiling()
                tensors[f"{name}.decode_untiled{suffix}"] = vae.decode(z.to(dtype)).sample.float().contiguous()
                vae.enable_tiling(**tiling)
                tensors[f"{name}.decode_tiled{suffix}"] = vae.decode(z.to(dtype)).sample.float().contiguous()
        vae.disable_tiling()
        info = {"class": cls.__name__, "weights": f"tests/fixtures/{sub}", "enable_tiling": tiling,
                "default_tile_settings": defaults, "z_shape": list(shape), "z_seed": 500}
        print(name, "tiled vs untiled max abs",
              float((tensors[f"{name}.decode_tiled"] - tensors[f"{name}.decode_untiled"]).abs().max()), flush=True)
        # Stored as tests/fixtures/{sub}_tiling: z, decode_tiled, decode_untiled (+ the float32 tiled decode for HunyuanVideo).
        stored = {"z": tensors[f"{name}.z"], "decode_tiled": tensors[f"{name}.decode_tiled"],
                  "decode_untiled": tensors[f"{name}.decode_untiled"]}
        if name == "hunyuan":
            stored["decode_tiled_fp32cpu"] = tensors[f"{name}.decode_tiled_fp32cpu"]
        folder = os.path.join(out, f"{sub}_tiling")
        os.makedirs(folder, exist_ok=True)
        save_file(stored, os.path.join(folder, "decodes.safetensors"))
        info["keys"] = {k: list(v.shape) for k, v in stored.items()}
        with open(os.path.join(folder, "fixture.json"), "w") as f:
            json.dump(info, f, indent=2)


def main():
    out = sys.argv[1]
    vae_dir = sys.argv[2] if len(sys.argv) > 2 else None
    os.makedirs(out, exist_ok=True)
    jobs = [lambda: pipeline_fixture(out)]
    if vae_dir:
        jobs.append(lambda: tiling_fixture(out, vae_dir))
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
