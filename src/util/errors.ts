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

  /** `message` is folded to one line, as every error the command line prints. */
  constructor(code: string, message: string) {
    super(oneLine(message));
    this.name = 'FlattenError';
    this.code = code;
  }
}

/** Prefixes a message with the file it is about, the way every reader reports problems. */
export function fileError(code: string, file: string, message: string): FlattenError {
  return new FlattenError(code, `${file}: ${message}`);
}

/** The longest message an error carries; the middle of a longer one is left out and counted. */
export const MAX_MESSAGE_CHARS = 500;

/** Characters kept from the end of a cut message: where messages say what to do next. */
const TAIL_CHARS = 160;

/**
 * A message as it may reach a terminal: one line, control characters (ESC, BEL, CR, ...) written as
 * escapes, at most about {@link MAX_MESSAGE_CHARS} characters: a longer one keeps its beginning and
 * its end (the advice) and says how much of the middle was left out.
 *
 * @example
 * ```ts
 * oneLine('bad name \x1b[31mred'); // 'bad name \\x1b[31mred'
 * ```
 */
export function oneLine(message: string): string {
  const flat = message.replace(/\s*\n\s*/g, ' ');
  const cut =
    flat.length > MAX_MESSAGE_CHARS
      ? `${flat.slice(0, MAX_MESSAGE_CHARS - TAIL_CHARS)} … (${flat.length - MAX_MESSAGE_CHARS} characters left out) … ${flat.slice(-TAIL_CHARS)}`
      : flat;
  // eslint-disable-next-line no-control-regex -- these are the characters being escaped
  return cut.replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029]/g, (c) => {
    const code = c.charCodeAt(0);
    return code > 0xff ? `\\u${code.toString(16)}` : `\\x${code.toString(16).padStart(2, '0')}`;
  });
}
