/**
 * What every model family provides: its official constructor's arguments with their defaults, its
 * registered variants (rows that list only what differs from those defaults), and the builder that
 * turns arguments into a graph.
 */
import type { Graph, Value } from '../graph/graph.js';
import type { ArgSchema } from './args.js';

/** The families of the official repository, and DeiT from the paper. */
export type FamilyName = 'swin' | 'pvt' | 'pvt_v2' | 'cswin' | 'deit';

/** Graph values a family builder returns. */
export interface BuiltModel {
  /** (B, num_classes) */
  logits: Value;
  /** (B, C): the pooled features the head reads. */
  features: Value;
  /** Output of each stage, (B, N, C) token layout, as the fixtures define it. */
  stages: Value[];
  /** The token grid (H, W) of each stage output. */
  grids: [number, number][];
}

/** A model family. `A` is the resolved argument record. */
export interface Family {
  readonly name: FamilyName;
  /** The official constructor, e.g. `FLattenSwinTransformer`. */
  readonly constructorName: string;
  /** The official file, e.g. `models/flatten_swin.py`. */
  readonly officialFile: string;
  readonly schema: ArgSchema;
  /** The constructor takes `**kwargs` and ignores unknown arguments. */
  readonly acceptsExtraArgs: boolean;
  /** Registered variants: name → arguments that differ from `schema`'s defaults. */
  readonly variants: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** The official model's `no_weight_decay()` names: AdamW's second group, without weight decay. */
  readonly noWeightDecay: readonly string[];
  /** The official model's `no_weight_decay_keywords()`: names containing one join that group too. */
  readonly noWeightDecayKeywords: readonly string[];
  /**
   * How the official `_init_weights` leaves convolutions: `fan_out` draws N(0, 2 / fan_out) with zero
   * bias (PVTv2); absent, they keep PyTorch's default (uniform ±1/√fan_in, bias too).
   */
  readonly convInit?: 'fan_out';
  /** Input image size (H, W) for these arguments. */
  inputSize(args: Readonly<Record<string, unknown>>): [number, number];
  /**
   * Builds the graph from `input` (B, in_chans, H, W). Throws a FlattenError if the official model
   * could not be built or run with these arguments.
   */
  build(g: Graph, input: Value, args: Readonly<Record<string, unknown>>, where: string): BuiltModel;
}
