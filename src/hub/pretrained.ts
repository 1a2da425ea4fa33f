/**
 * The pretrained ImageNet-1k checkpoints the official README links, by name (`<model>.in1k`).
 */

/** One released checkpoint. */
export interface PretrainedEntry {
  /** The registered architecture it belongs to. */
  readonly arch: string;
  /** Where the official README points. */
  readonly url: string;
  /** Top-1 the official README reports for it. */
  readonly top1: number;
}

const tsinghua = (id: string) => `https://cloud.tsinghua.edu.cn/f/${id}/?dl=1`;

/** The released checkpoints the official README links, by name (`<arch>.in1k`): what `--checkpoint <name>` downloads. */
export const PRETRAINED: Readonly<Record<string, PretrainedEntry>> = {
  'flatten_pvt_t.in1k': { arch: 'flatten_pvt_t', url: tsinghua('3ab1d773f19d45648690'), top1: 77.8 },
  'flatten_pvt_v2_b0.in1k': { arch: 'flatten_pvt_v2_b0', url: tsinghua('5d1f01532b104da28e7b'), top1: 71.1 },
  'flatten_swin_t.in1k': { arch: 'flatten_swin_t', url: tsinghua('e1518e76703e4e57a7f2'), top1: 82.1 },
  'flatten_swin_s.in1k': { arch: 'flatten_swin_s', url: tsinghua('94188e52af354bf4a88b'), top1: 83.5 },
  'flatten_swin_b.in1k': { arch: 'flatten_swin_b', url: tsinghua('7a9e5186bad04e7fb3a9'), top1: 83.8 },
  'flatten_swin_b_384.in1k': { arch: 'flatten_swin_b_384', url: tsinghua('0d0330cf2e5249f1abb6'), top1: 85.0 },
  'flatten_cswin_t.in1k': { arch: 'flatten_cswin_t', url: tsinghua('48ba765ba8b0451d9d5a'), top1: 83.1 },
};
