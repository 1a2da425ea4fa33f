"""Exports the official FLatten models for the side-by-side benchmark against flatten-vit.

For each of flatten_pvt_v2_b0, flatten_pvt_t, flatten_swin_t and flatten_cswin_t this builds the
official PyTorch model from a checkout of LeapLabTHU/FLatten-Transformer (constructor arguments from
its cfgs/ and config.py defaults), gives it seeded random weights, and writes into OUT:

  <name>.pth          the state dict, as the official training saves it ({'model': ...})
  <name>.logits.bin   float32 logits of the official model on compare.ts's deterministic batch of 2
  <name>.b1.onnx      torch.onnx export, opset 17, batch 1
  <name>.b8.onnx      the same at batch 8

Needs torch; timm and einops (which the official code imports) are replaced by timm_standin.py
where they are not installed.

    python3 scripts/torch-onnx/export_official.py --official ../FLatten-Transformer --out /tmp/sbs
"""
import argparse
import math
import os
import sys
import time

import torch

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument('--official', required=True, help='checkout of LeapLabTHU/FLatten-Transformer')
parser.add_argument('--out', required=True, help='folder for the checkpoints, logits and ONNX files')
parser.add_argument('names', nargs='*', help='a subset of the four models')
args = parser.parse_args()
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import timm_standin  # noqa: E402

timm_standin.install()
sys.path.insert(0, os.path.join(args.official, 'models'))

from flatten_cswin import FLatten_CSWin_64_24181_tiny_224  # noqa: E402
from flatten_pvt import flatten_pvt_tiny  # noqa: E402
from flatten_pvt_v2 import flatten_pvt_v2_b0  # noqa: E402
from flatten_swin import FLattenSwinTransformer  # noqa: E402

LA = dict(focusing_factor=3, kernel_size=5)
MODELS = {
    'flatten_pvt_v2_b0': lambda: flatten_pvt_v2_b0(attn_type='LLLL', la_sr_ratios='1111', **LA),
    'flatten_pvt_t': lambda: flatten_pvt_tiny(attn_type='LLLL', la_sr_ratios='1111', **LA),
    'flatten_swin_t': lambda: FLattenSwinTransformer(
        img_size=224, patch_size=4, in_chans=3, num_classes=1000, embed_dim=96, depths=[2, 2, 6, 2],
        num_heads=[3, 6, 12, 24], window_size=56, mlp_ratio=4.0, qkv_bias=True, qk_scale=None, ape=False,
        patch_norm=True, use_checkpoint=False, attn_type='LLSS', **LA),
    'flatten_cswin_t': lambda: FLatten_CSWin_64_24181_tiny_224(
        img_size=224, in_chans=3, num_classes=1000, attn_type='LLSS', la_split_size='56-28-14-7', **LA),
}

os.makedirs(args.out, exist_ok=True)
# The same deterministic batch as flatten-vit's benchInput: sin(0.37 i).
x = torch.tensor([math.sin(i * 0.37) for i in range(8 * 3 * 224 * 224)], dtype=torch.float32).reshape(8, 3, 224, 224)
for name in args.names or MODELS:
    torch.manual_seed(0)
    model = MODELS[name]().eval()
    with torch.no_grad():
        for p in model.parameters():  # perturb what init leaves constant (norms, scales, biases)
            p.add_(torch.randn_like(p) * 0.02)
        logits = model(x[:2])
    path = lambda suffix: os.path.join(args.out, name + suffix)  # noqa: E731
    torch.save({'model': model.state_dict()}, path('.pth'))
    logits.numpy().astype('float32').tofile(path('.logits.bin'))
    start = time.time()
    for b in (1, 8):
        torch.onnx.export(model, x[:b], path(f'.b{b}.onnx'), opset_version=17, input_names=['input'], output_names=['logits'])
    params = sum(p.numel() for p in model.parameters())
    print(f'{name}: {params:,} parameters, exported in {time.time() - start:.0f} s', flush=True)
