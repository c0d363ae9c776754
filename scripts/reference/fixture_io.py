"""Collects reference tensors into safetensors files plus a manifest (shapes, slices, statistics)."""
import json
import os

import torch
from safetensors.torch import save_file


class FixtureFile:
    """One safetensors fixture. Full tensors are stored under their name; large ones
    as named slices (the key is `name` followed by the slice, in numpy notation),
    with the full tensor's shape, float64 sum and max |value| in the manifest."""

    def __init__(self, filename, description):
        self.filename = filename
        self.description = description
        self.tensors = {}
        self.entries = {}

    def full(self, name, tensor, note=None):
        t = tensor.detach().to(torch.float32).contiguous().clone()
        self.tensors[name] = t
        self.entries[name] = _stats(t, [name], note)

    def sliced(self, name, tensor, slices, note=None):
        """slices: list of (label, index tuple); each stored as `name` + label."""
        t = tensor.detach().to(torch.float32)
        keys = []
        for label, index in slices:
            key = name + label
            self.tensors[key] = t[index].contiguous().clone()
            keys.append(key)
        self.entries[name] = _stats(t, keys, note)

    def save(self, folder, manifest):
        path = os.path.join(folder, self.filename)
        # One metadata key: safetensors orders several at random.
        save_file(self.tensors, path, metadata={"generator": f"scripts/make-parity-fixtures, torch {torch.__version__}"})
        os.chmod(path, 0o644)  # safetensors creates files 0600
        manifest[self.filename] = {
            "description": self.description,
            "tensors": self.entries,
            "stored_shapes": {k: list(v.shape) for k, v in sorted(self.tensors.items())},
        }


def _stats(t, keys, note):
    entry = {
        "shape": list(t.shape),
        "sum": float(t.to(torch.float64).sum()),
        "max_abs": float(t.abs().max()) if t.numel() else 0.0,
        "stored": keys,
    }
    if note:
        entry["note"] = note
    return entry


def grid_slices(side, first=16, last=8):
    """Top-left first×first and bottom-right last×last corners of a (side, side, C) grid."""
    return [(f".grid[0:{first},0:{first},:]", (slice(0, first), slice(0, first), slice(None))),
            (f".grid[{side - last}:{side},{side - last}:{side},:]",
             (slice(side - last, side), slice(side - last, side), slice(None)))]


def nchw_slices(side, first=16, last=8):
    """The same two corners of a (1, C, side, side) map, all channels."""
    return [(f"[0,:,0:{first},0:{first}]", (0, slice(None), slice(0, first), slice(0, first))),
            (f"[0,:,{side - last}:{side},{side - last}:{side}]",
             (0, slice(None), slice(side - last, side), slice(side - last, side)))]


def write_manifest(folder, manifest):
    path = os.path.join(folder, "manifest.json")
    existing = {}
    if os.path.exists(path):
        with open(path) as f:
            existing = json.load(f)
    existing.update(manifest)
    with open(path + ".part", "w") as f:
        json.dump(dict(sorted(existing.items())), f, indent=1)
    os.replace(path + ".part", path)
