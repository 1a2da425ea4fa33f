/**
 * The paper's ImageNet-1K figures (Table 1–3 of the FLatten paper, SPEC.md §9), for `info` to print
 * beside what flatten-vit counts. FLOPs are multiply-adds; params in millions.
 */

/** One row of the paper's tables. */
export interface PaperFigures {
  readonly params: number;
  readonly flops: number | null;
  readonly top1: number;
  readonly baselineTop1: number;
}

export const PAPER: Readonly<Record<string, PaperFigures>> = {
  flatten_pvt_t: { params: 12.2, flops: 2.0, top1: 77.8, baselineTop1: 75.1 },
  flatten_pvt_s: { params: 21.7, flops: 4.0, top1: 81.7, baselineTop1: 79.8 },
  flatten_pvt_v2_b0: { params: 3.6, flops: null, top1: 71.1, baselineTop1: 70.5 },
  flatten_pvt_v2_b1: { params: 12.9, flops: 2.2, top1: 79.5, baselineTop1: 78.7 },
  flatten_pvt_v2_b2: { params: 22.6, flops: 4.3, top1: 82.5, baselineTop1: 82.0 },
  flatten_swin_t: { params: 29, flops: 4.5, top1: 82.1, baselineTop1: 81.3 },
  flatten_swin_s: { params: 51, flops: 8.7, top1: 83.5, baselineTop1: 83.0 },
  flatten_swin_b: { params: 89, flops: 15.4, top1: 83.8, baselineTop1: 83.5 },
  flatten_swin_b_384: { params: 91, flops: 46.5, top1: 85.0, baselineTop1: 84.5 },
  flatten_cswin_t: { params: 21, flops: 4.3, top1: 83.1, baselineTop1: 82.7 },
  flatten_cswin_s: { params: 35, flops: 6.9, top1: 83.8, baselineTop1: 83.6 },
  flatten_cswin_b: { params: 75, flops: 15.0, top1: 84.5, baselineTop1: 84.2 },
  flatten_cswin_b_384: { params: 78, flops: 46.4, top1: 85.5, baselineTop1: 85.4 },
  flatten_deit_t: { params: 6.1, flops: 1.1, top1: 74.1, baselineTop1: 72.2 },
};
