"""Stand-ins for the few timm and einops names the official FLatten model files import, installed only
when timm or einops is missing (neither is packaged by Debian, and pip may not reach PyPI).

The official files import DropPath, to_2tuple and trunc_normal_ from timm.models.layers,
register_model, _cfg, ImageNet's mean and std and load_pretrained (never called here), einops'
rearrange (imported, never called) and, in the CSwin file, one einops Rearrange layer
('b c h w -> b (h w) c'). The stand-ins compute what timm's and einops' do: DropPath keeps each
sample with probability 1 - p and scales it by 1 / (1 - p) in training, and is the identity in
evaluation; the others raise where they would be needed.

    import timm_standin; timm_standin.install()
"""
import sys
import types

import torch.nn as nn


class DropPath(nn.Module):
    """Stochastic depth per sample, as timm.models.layers.DropPath."""

    def __init__(self, drop_prob=0.0):
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x):
        if self.drop_prob == 0.0 or not self.training:
            return x
        keep = 1 - self.drop_prob
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask / keep


def to_2tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x, x)


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0):
    return nn.init.trunc_normal_(tensor, mean=mean, std=std, a=a, b=b)


class Rearrange(nn.Module):
    """einops' Rearrange layer for the one pattern the official CSwin stem uses."""

    def __init__(self, pattern, **_sizes):
        super().__init__()
        if pattern != 'b c h w -> b (h w) c':
            raise NotImplementedError(f'einops is not installed: the stand-in has no Rearrange({pattern!r})')

    def forward(self, x):
        return x.flatten(2).transpose(1, 2)


def _unavailable(name):
    def fail(*_args, **_kw):
        raise NotImplementedError(f'timm or einops is not installed: the stand-in has no {name}')

    return fail


def _module(name, **attrs):
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    sys.modules[name] = m
    return m


def install():
    """Registers the stand-ins under timm's and einops' module names where those are not installed."""
    try:
        import timm  # noqa: F401
    except ImportError:
        _module('timm')
        _module('timm.data', IMAGENET_DEFAULT_MEAN=(0.485, 0.456, 0.406), IMAGENET_DEFAULT_STD=(0.229, 0.224, 0.225))
        _module('timm.models')
        _module('timm.models.helpers', load_pretrained=_unavailable('load_pretrained'))
        _module('timm.models.layers', DropPath=DropPath, to_2tuple=to_2tuple, trunc_normal_=trunc_normal_)
        _module('timm.models.registry', register_model=lambda f: f)
        _module('timm.models.vision_transformer', _cfg=lambda **kw: dict(kw))
    try:
        import einops  # noqa: F401
    except ImportError:
        _module('einops', rearrange=_unavailable('rearrange'))
        _module('einops.layers')
        _module('einops.layers.torch', Rearrange=Rearrange)


__all__ = ['install', 'DropPath', 'Rearrange', 'to_2tuple', 'trunc_normal_']
