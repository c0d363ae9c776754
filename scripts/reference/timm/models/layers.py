"""timm.models.layers stand-in: only what tiny_vit_sam.py uses (inference: drop path 0)."""
import collections.abc
import torch.nn as nn
from torch.nn.init import trunc_normal_  # same signature as timm's for (tensor, mean, std, a, b)


class DropPath(nn.Identity):
    """Stochastic depth; LiteMedSAM is built with drop_path_rate 0, so identity."""
    def __init__(self, drop_prob=0.0, *args, **kwargs):
        super().__init__()
        self.drop_prob = drop_prob


def to_2tuple(x):
    return tuple(x) if isinstance(x, collections.abc.Iterable) else (x, x)
