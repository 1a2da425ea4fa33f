import { describe, expect, it } from 'vitest';
import { FlattenError, MAX_MESSAGE_CHARS, oneLine } from '../../src/util/errors.js';

describe('error messages', () => {
  it('are one line with control characters escaped', () => {
    expect(oneLine('a\n  b')).toBe('a b');
    expect(oneLine('name \x1b[2J\x07\r\u2028end')).toBe('name \\x1b[2J\\x07\\x0d\\u2028end');
    expect(new FlattenError('input', 'x\x1by').message).toBe('x\\x1by');
  });

  it('keep the beginning and the advice at the end of a long message, and count what was left out', () => {
    const long = `${'a'.repeat(2000)}; do this next`;
    const m = oneLine(long);
    expect(m.length).toBeLessThan(MAX_MESSAGE_CHARS + 60);
    expect(m.startsWith('aaaa')).toBe(true);
    expect(m.endsWith('; do this next')).toBe(true);
    expect(m).toContain(`(${long.length - MAX_MESSAGE_CHARS} characters left out)`);
    expect(oneLine('short')).toBe('short');
  });
});
