/**
 * `curves.svg`: the run's training loss, learning rate and validation accuracy against epochs, with
 * axes, ticks and legends, drawn by Vega-Lite.
 */
import type { TopLevelSpec } from 'vega-lite';
import { chartSvg } from '../util/chart.js';

/** One epoch of the run, as `metrics.jsonl` records it. */
export interface EpochPoint {
  readonly epoch: number;
  /** Mean training loss over the epoch's steps. */
  readonly trainLoss: number;
  /** The learning rate of the epoch's last step. */
  readonly lr: number;
  readonly valLoss?: number | null;
  readonly valAcc1?: number | null;
  readonly valAcc5?: number | null;
}

/**
 * The chart of a run as SVG text: loss (train and validation), learning rate, and validation
 * accuracy (acc@1, acc@5) in three panels over a shared epoch axis.
 *
 * @example
 * ```ts
 * writeFileSync('curves.svg', await curvesSvg([{ epoch: 1, trainLoss: 2.3, lr: 1e-4 }]));
 * ```
 */
export async function curvesSvg(points: readonly EpochPoint[]): Promise<string> {
  const rows: { epoch: number; series: string; value: number }[] = [];
  const add = (epoch: number, series: string, value: number | null | undefined) => {
    if (value !== null && value !== undefined && Number.isFinite(value)) rows.push({ epoch, series, value });
  };
  for (const p of points) {
    add(p.epoch, 'train loss', p.trainLoss);
    add(p.epoch, 'val loss', p.valLoss);
    add(p.epoch, 'learning rate', p.lr);
    add(p.epoch, 'val acc@1', p.valAcc1);
    add(p.epoch, 'val acc@5', p.valAcc5);
  }
  const panel = (series: string[], title: string, format?: string) => ({
    transform: [{ filter: { field: 'series', oneOf: series } }],
    mark: { type: 'line' as const, point: true },
    width: 480,
    height: 140,
    encoding: {
      x: { field: 'epoch', type: 'quantitative' as const, axis: { tickMinStep: 1, format: 'd', title: 'epoch' } },
      y: { field: 'value', type: 'quantitative' as const, title, scale: { zero: false }, ...(format ? { axis: { format } } : {}) },
      color: { field: 'series', type: 'nominal' as const, scale: { domain: series }, legend: { title: null } },
    },
  });
  const spec: TopLevelSpec = {
    data: { values: rows },
    vconcat: [
      panel(['train loss', 'val loss'], 'loss'),
      panel(['learning rate'], 'learning rate', '.1e'),
      panel(['val acc@1', 'val acc@5'], 'accuracy (%)'),
    ],
    resolve: { scale: { color: 'independent' } },
  };
  return chartSvg(spec);
}

/** One training step, for {@link stepLossSvg}. */
export interface StepPoint {
  /** 1-based over the whole run. */
  readonly step: number;
  readonly loss: number;
  readonly lr: number;
}

/**
 * The loss of every step so far, and the learning rate, as SVG text: the training page's live chart,
 * drawn like the epoch curves.
 *
 * @example
 * ```ts
 * element.innerHTML = await stepLossSvg([{ step: 1, loss: 2.3, lr: 1e-6 }, { step: 2, loss: 2.2, lr: 2e-6 }]);
 * ```
 */
export async function stepLossSvg(points: readonly StepPoint[]): Promise<string> {
  const rows = points.flatMap((p) => [
    { step: p.step, series: 'train loss', value: p.loss },
    { step: p.step, series: 'learning rate', value: p.lr },
  ]);
  const panel = (series: string, format?: string) => ({
    transform: [{ filter: { field: 'series', equal: series } }],
    mark: { type: 'line' as const },
    width: 480,
    height: 110,
    encoding: {
      x: { field: 'step', type: 'quantitative' as const, axis: { tickMinStep: 1, format: 'd', title: 'step' } },
      y: { field: 'value', type: 'quantitative' as const, title: series, scale: { zero: false }, ...(format ? { axis: { format } } : {}) },
    },
  });
  return chartSvg({ data: { values: rows }, vconcat: [panel('train loss'), panel('learning rate', '.1e')] });
}
