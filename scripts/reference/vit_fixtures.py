"""A randomly initialised, reduced SAM ViT (segment-anything 1.0's ImageEncoderViT)
and its outputs, plus relative-position tables whose length differs from the
model's (the reference interpolates them). See fixtures/parity/README.md."""
import importlib
import sys
import types

import torch

from fixture_io import FixtureFile, write_manifest

# The reduced configuration: every feature of ViT-B at toy size. Window 3 on an
# 8×8 grid pads to 9×9 (as ViT-B pads 64 → 70).
CONFIG = dict(img_size=128, patch_size=16, in_chans=3, embed_dim=64, depth=2, num_heads=2, mlp_ratio=4.0,
              out_chans=32, qkv_bias=True, use_abs_pos=True, use_rel_pos=True, rel_pos_zero_init=True,
              window_size=3, global_attn_indexes=(1,))


def image_encoder_module():
    """segment_anything.modeling.image_encoder without the package __init__ (it imports
    torchvision, which fails against this torch); the modeling code itself needs torch only."""
    import importlib.machinery
    if "segment_anything" not in sys.modules:
        spec = importlib.machinery.PathFinder.find_spec("segment_anything")
        package = types.ModuleType("segment_anything")
        package.__path__ = list(spec.submodule_search_locations)
        sys.modules["segment_anything"] = package
    return importlib.import_module("segment_anything.modeling.image_encoder")


def build(seed, rel_pos_lengths=None):
    """The reduced ViT with every parameter random (SAM initialises the position
    tables and pos_embed to zero, which would test nothing). rel_pos_lengths maps a
    block index to the table length to use instead of the model's own."""
    ie = image_encoder_module()
    torch.manual_seed(seed)
    model = ie.ImageEncoderViT(norm_layer=lambda d: torch.nn.LayerNorm(d, eps=1e-6), **CONFIG).eval()
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for i, block in enumerate(model.blocks):
            head_dim = CONFIG["embed_dim"] // CONFIG["num_heads"]
            for name in ("rel_pos_h", "rel_pos_w"):
                length = (rel_pos_lengths or {}).get(i, getattr(block.attn, name).shape[0])
                setattr(block.attn, name, torch.nn.Parameter(0.5 * torch.randn(length, head_dim, generator=g)))
        for name, p in model.named_parameters():
            if name == "pos_embed":
                p.copy_(0.2 * torch.randn(p.shape, generator=g))
            elif p.dim() == 1:   # LayerNorm weights/biases and linear biases: not the trivial 1 / 0
                base = 1.0 if name.endswith("weight") else 0.0
                p.copy_(base + 0.1 * torch.randn(p.shape, generator=g))
    return model


@torch.no_grad()
def record(model, filename, description, note):
    g = torch.Generator().manual_seed(99)
    x = torch.randn(1, 3, CONFIG["img_size"], CONFIG["img_size"], generator=g)
    outputs = {}
    handles = [model.patch_embed.register_forward_hook(lambda m, i, o: outputs.__setitem__("patch_embed", o))]
    for k, block in enumerate(model.blocks):
        handles.append(block.register_forward_hook(lambda m, i, o, k=k: outputs.__setitem__(f"blocks.{k}", o)))
    y = model(x)
    for h in handles:
        h.remove()
    f = FixtureFile(filename, description)
    f.full("input", x, "(1,3,128,128) standard normal, seed 99 (already normalised; no pixel mean/std)")
    f.full("patch_embed", outputs["patch_embed"], "(1,8,8,64) NHWC, before pos_embed is added")
    for k in range(CONFIG["depth"]):
        f.full(f"blocks.{k}", outputs[f"blocks.{k}"], "(1,8,8,64) NHWC block output")
    f.full("output", y, "(1,32,8,8) neck output = image embedding")
    f.entries["output"]["note"] = note
    return f


def rel_pos_cases(folder, manifest):
    """get_rel_pos directly: equal sizes with an interpolated table, and q ≠ k."""
    ie = image_encoder_module()
    g = torch.Generator().manual_seed(5)
    f = FixtureFile("vit-rel-pos.safetensors", "segment_anything get_rel_pos(q_size, k_size, table) cases")
    for name, q, k, length in [("same_8x8_table15", 8, 8, 15), ("interp_8x8_table11", 8, 8, 11),
                               ("interp_4x4_table13", 4, 4, 13), ("q4_k8_table15", 4, 8, 15)]:
        table = torch.randn(length, 6, generator=g)
        f.full(f"{name}.table", table, f"({length},6) input table")
        f.full(f"{name}.result", ie.get_rel_pos(q, k, table), f"get_rel_pos({q}, {k}, table): ({q},{k},6)")
    f.save(folder, manifest)


def make_all(out):
    manifest = {}
    for suffix, lengths, description in [
        ("", None, "tables of the model's own lengths (5 windowed, 15 global)"),
        ("-interp", {0: 9, 1: 11}, "rel_pos tables of length 9 (block 0, windowed: model needs 5) and 11 "
                                   "(block 1, global: model needs 15); get_rel_pos interpolates them linearly"),
    ]:
        model = build(seed=3, rel_pos_lengths=lengths)
        weights = FixtureFile(f"vit-reduced{suffix}-weights.safetensors",
                              f"weights of the reduced ViT, {description}; config: {CONFIG}")
        for name, tensor in model.state_dict().items():
            weights.full(name, tensor)
        weights.save(out, manifest)
        record(model, f"vit-reduced{suffix}.safetensors", f"input and outputs of the reduced ViT{suffix}",
               description).save(out, manifest)
    rel_pos_cases(out, manifest)
    write_manifest(out, manifest)
