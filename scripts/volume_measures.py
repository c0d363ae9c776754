"""What a 3-D Dice hides, measured in numpy on two masks of one grid: shared by
scripts/heldout-table and scripts/demo (import it with scripts/ on sys.path)."""
import sys

import nibabel as nib
import numpy as np


def dice(pred, ref):
    total = int(pred.sum()) + int(ref.sum())
    return 1.0 if total == 0 else 2.0 * int(np.logical_and(pred, ref).sum()) / total


def canonical_mask(path, label=None):
    """A mask (nonzero, or == label) in RAS order, whatever the file's stored order, and its affine."""
    image = nib.as_closest_canonical(nib.load(path))
    data = np.asanyarray(image.dataobj)
    return (data > 0 if label is None else data == label), image.affine


def volume_measures(pred_path, ref_path, label, unseen=None):
    """What the 3-D Dice hides: predictions on axial slices where the reference has none of
    the structure (a whole-image or far-off organ look-alike), and for liver-full the Dice
    on the slices fit never saw (canonical slice range `unseen`, [start, stop))."""
    pred, pred_affine = canonical_mask(pred_path)
    ref, ref_affine = canonical_mask(ref_path, label)
    if pred.shape != ref.shape or not np.allclose(pred_affine, ref_affine, atol=0.01):
        sys.exit(f"{pred_path} (grid {pred.shape}) is not on the grid of {ref_path} {ref.shape}:\n"
                 f"{np.round(pred_affine, 3)}\n{np.round(ref_affine, 3)}")
    has_ref = ref.any(axis=(0, 1))  # per axial slice: the canonical third axis runs inferior → superior
    empty = ~has_ref
    fp_voxels = int(pred[:, :, empty].sum())
    m = {"dice": dice(pred, ref), "fpSlices": int((pred.any(axis=(0, 1)) & empty).sum()), "emptySlices": int(empty.sum()),
         "fpVoxels": fp_voxels, "refVoxels": int(ref.sum()), "fpVoxelsPercent": 100.0 * fp_voxels / max(int(ref.sum()), 1)}
    if unseen:
        never = np.zeros(len(has_ref), bool)
        never[unseen[0]:unseen[1]] = True
        for key, part in (("unseen", never & has_ref), ("seen", ~never & has_ref)):
            m[f"{key}Slices"] = int(part.sum())
            m[f"{key}SliceDice"] = dice(pred[:, :, part], ref[:, :, part]) if part.any() else None
    return m
