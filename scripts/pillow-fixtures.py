"""Writes test/assets/pillow/: Pillow's own outputs of every image operation the training transform
uses, at fixed parameters, for test/preprocess/augment_ops.test.ts.

Run from the repository root with Pillow installed (Debian's python3-pil 9.4 made the stored files):
    python3 scripts/pillow-fixtures.py

ops.bin holds the uint8 RGB images back to back; ops.json lists each case: the operation, its
parameters, which input it starts from, and where its output lies in ops.bin.
"""
import json
from pathlib import Path

import PIL
from PIL import Image, ImageEnhance, ImageOps

OUT = Path('test/assets/pillow')
FILL = (124, 116, 104)
blobs = bytearray()
cases = []


def add(img):
    offset = len(blobs)
    blobs.extend(img.tobytes())
    return {'offset': offset, 'width': img.width, 'height': img.height}


photo = Image.open('../shared/fixtures/images/rocket.jpg').convert('RGB')
inputs = {
    # a natural crop, wider than tall
    'photo': photo.crop((120, 90, 168, 130)),
    # a square crop (Pillow's quarter-turn fast paths)
    'square': photo.crop((40, 200, 72, 232)),
    # a dull, low-contrast version (autocontrast and equalize have work to do)
    'dull': photo.crop((200, 10, 236, 38)).point(lambda v: 70 + v // 3),
}
stored = {name: add(img) for name, img in inputs.items()}


def case(op, src, params, img):
    cases.append({'op': op, 'input': src, 'params': params, 'output': add(img)})


for src in ('photo', 'square'):
    im = inputs[src]
    for resample, name in ((Image.BILINEAR, 'bilinear'), (Image.BICUBIC, 'bicubic')):
        for deg in (0, 17.3, -25.0, 180, 90, -3.7):
            case('rotate', src, {'degrees': deg, 'resample': name}, im.rotate(deg, resample=resample, fillcolor=FILL))
        for m in ((1, 0.27, 0, 0, 1, 0), (1, -0.3, 0, 0, 1, 0), (1, 0, 0, 0.15, 1, 0), (1, 0, 0.45 * im.width, 0, 1, 0),
                  (1, 0, -0.2 * im.width, 0, 1, 0), (1, 0, 0, 0, 1, -0.33 * im.height)):
            case('affine', src, {'matrix': list(m), 'resample': name},
                 im.transform(im.size, Image.AFFINE, m, resample=resample, fillcolor=FILL))
        for box, size in (((3, 5, 30, 26), (24, 24)), ((0, 0, im.width, im.height), (56, 56)), ((10, 2, 21, 30), (16, 16))):
            case('resize', src, {'box': list(box), 'size': list(size), 'resample': name}, im.crop(box).resize(size, resample))

for src in ('photo', 'dull'):
    im = inputs[src]
    case('autocontrast', src, {}, ImageOps.autocontrast(im))
    case('equalize', src, {}, ImageOps.equalize(im))
    case('invert', src, {}, ImageOps.invert(im))
    for bits in (0, 1, 2, 3, 4):
        case('posterize', src, {'bits': bits}, ImageOps.posterize(im, bits))
    for t in (0, 26, 128, 230, 256):
        case('solarize', src, {'threshold': t}, ImageOps.solarize(im, t))
    for add_ in (0, 40, 99):
        lut = [min(255, i + add_) if i < 128 else i for i in range(256)]
        case('solarize_add', src, {'add': add_}, im.point(lut * 3))
    for f in (0.1, 0.55, 1.0, 1.37, 1.9, 0.0, 2.6):
        case('color', src, {'factor': f}, ImageEnhance.Color(im).enhance(f))
        case('contrast', src, {'factor': f}, ImageEnhance.Contrast(im).enhance(f))
        case('brightness', src, {'factor': f}, ImageEnhance.Brightness(im).enhance(f))
        case('sharpness', src, {'factor': f}, ImageEnhance.Sharpness(im).enhance(f))
    case('flip', src, {}, im.transpose(Image.FLIP_LEFT_RIGHT))

OUT.mkdir(parents=True, exist_ok=True)
(OUT / 'ops.bin').write_bytes(bytes(blobs))
(OUT / 'ops.json').write_text(json.dumps({'pillow': PIL.__version__, 'inputs': stored, 'cases': cases}, indent=1) + '\n')
print(f'{len(cases)} cases, {len(blobs)} bytes, Pillow {PIL.__version__}')
