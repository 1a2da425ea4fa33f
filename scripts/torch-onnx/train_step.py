"""PyTorch's own training step on the official FLatten model, the other side of `flatten-vit bench --train`.

One step as the official main_ema.py takes it with config.py's defaults: forward in training mode
(the architecture's stochastic depth: DROP_PATH_RATE of its cfgs/ file), cross entropy with label
smoothing 0.1 on one-hot targets, backward, gradient clipping at norm 5, AdamW (lr 5e-4, weight
decay 0.05 except on biases and 1-D parameters, betas (0.9, 0.999), eps 1e-8). The batch is the same
deterministic one as bench --train's. Prints images/s (median of the timed steps), the step in
seconds and the peak resident memory, as one JSON line.

    python3 scripts/torch-onnx/train_step.py --official ../FLatten-Transformer flatten_pvt_v2_b0 --batch 32 --threads 2

Needs torch; timm and einops are replaced by timm_standin.py where they are not installed.
"""
import argparse
import json
import math
import os
import resource
import statistics
import sys
import time

import torch

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument('--official', required=True, help='checkout of LeapLabTHU/FLatten-Transformer')
parser.add_argument('arch', choices=['flatten_pvt_v2_b0', 'flatten_swin_t'])
parser.add_argument('--batch', type=int, default=32)
parser.add_argument('--threads', type=int, default=2)
parser.add_argument('--steps', type=int, default=3, help='timed steps, after two untimed ones')
args = parser.parse_args()
torch.set_num_threads(args.threads)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import timm_standin  # noqa: E402

timm_standin.install()
sys.path.insert(0, os.path.join(args.official, 'models'))

LA = dict(focusing_factor=3, kernel_size=5)
if args.arch == 'flatten_pvt_v2_b0':
    from flatten_pvt_v2 import flatten_pvt_v2_b0

    model = flatten_pvt_v2_b0(drop_path_rate=0.1, attn_type='LLLL', la_sr_ratios='1111', **LA)
else:
    from flatten_swin import FLattenSwinTransformer

    model = FLattenSwinTransformer(
        img_size=224, patch_size=4, in_chans=3, num_classes=1000, embed_dim=96, depths=[2, 2, 6, 2],
        num_heads=[3, 6, 12, 24], window_size=56, mlp_ratio=4.0, qkv_bias=True, qk_scale=None,
        drop_path_rate=0.2, ape=False, patch_norm=True, use_checkpoint=False, attn_type='LLSS', **LA)
model.train()

# the official optimizer's two groups: no weight decay on biases and 1-D parameters
decay = [p for n, p in model.named_parameters() if p.ndim > 1 and not n.endswith('.bias')]
rest = [p for n, p in model.named_parameters() if not (p.ndim > 1 and not n.endswith('.bias'))]
optimizer = torch.optim.AdamW([{'params': decay}, {'params': rest, 'weight_decay': 0.0}],
                              lr=5e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05)
criterion = torch.nn.CrossEntropyLoss(label_smoothing=0.1)

# bench --train's batch: sin(0.37 i) images, class i mod 1000
B = args.batch
x = torch.tensor([math.sin(i * 0.37) for i in range(B * 3 * 224 * 224)], dtype=torch.float32).reshape(B, 3, 224, 224)
y = torch.arange(B) % 1000


def step():
    optimizer.zero_grad()
    loss = criterion(model(x), y)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
    optimizer.step()


times = []
for i in range(2 + args.steps):
    start = time.perf_counter()
    step()
    if i >= 2:
        times.append(time.perf_counter() - start)
median = statistics.median(times)
print(json.dumps({
    'arch': args.arch, 'batch': B, 'threads': args.threads, 'torch': torch.__version__,
    'images_per_s': B / median, 'step_s': median, 'steps': len(times),
    'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
