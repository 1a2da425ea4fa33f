/**
 * The one error type flatten-vit raises for problems a user can act on: a bad file, a checkpoint that
 * does not fit the architecture, an unsupported option. Its message is a single line that says what
 * was expected, what was found and what to do next; the CLI prints it without a stack trace.
 *
 * @example
 * ```ts
 * try {
 *   await FlattenModel.load('flatten_swin_t', 'weights.pth');
 * } catch (e) {
 *   if (e instanceof FlattenError) console.error(e.message);
 * }
 * ```
 */
export class FlattenError extends Error {
  /** A short machine-readable category, e.g. `checkpoint`, `config`, `input`. */
  readonly code: string;

  constructor(code: string, message: string) {
    super(message.replace(/\s*\n\s*/g, ' '));
    this.name = 'FlattenError';
    this.code = code;
  }
}

/** Prefixes a message with the file it is about, the way every reader reports problems. */
export function fileError(code: string, file: string, message: string): FlattenError {
  return new FlattenError(code, `${file}: ${message}`);
}
