/**
 * How much a checkpoint may ask of the reader: each budget is checked before the work or the memory
 * it bounds, and a breach is a one-line error naming the file and the limit.
 */

/**
 * Budgets of the checkpoint readers (`.pth` and safetensors), beside the pickle machine's own
 * (`PICKLE_LIMITS` in `pickle.ts`). For scale: Swin-T's largest tensor has 2,359,296 elements
 * (Swin-B's 4,194,304), and a Swin-T training checkpoint with its optimizer state 947 tensors and a
 * 148 KB pickle.
 */
export const CHECKPOINT_LIMITS = {
  /** Elements of one tensor: 2^28, 1 GiB once widened to float32. */
  maxTensorElements: 2 ** 28,
  /** Tensors in the selected state dict. */
  maxTensors: 1_000_000,
  /** Bytes of `data.pkl`. */
  maxPickleBytes: 256 * 2 ** 20,
  /** Bytes of deflated storages held inflated at once (`torch.save` stores storages uncompressed). */
  maxInflatedBytes: 2 ** 29,
} as const;
