/**
 * The HTTP thread's priority: taken when the system allows it, a one-line warning when it does not
 * (run as an unprivileged user, where setpriv and root allow it), and never the whole process's.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/fixtures.js';

/** Runs `setThreadNice(nice)` in a fresh Node process and prints its answer and the nice values after. */
function inChild(nice: number, prefix: string[] = []): { warning: string | null; thread: number; other: number } {
  const code = `
    import { getPriority } from 'node:os';
    import { Worker } from 'node:worker_threads';
    import { setThreadNice } from './src/serve/priority.ts';
    // a thread started before the change keeps its own nice value
    const other = new Worker(
      'import { parentPort } from "node:worker_threads"; import { getPriority } from "node:os"; parentPort.on("message", () => parentPort.postMessage(getPriority()));',
      { eval: true },
    );
    await new Promise((r) => other.once('online', r));
    const warning = setThreadNice(${nice});
    other.postMessage(0);
    const otherNice = await new Promise((r) => other.once('message', r));
    console.log(JSON.stringify({ warning, thread: getPriority(), other: otherNice }));
    await other.terminate();
  `;
  const out = execFileSync(
    prefix[0] ?? process.execPath,
    [...prefix.slice(1), ...(prefix.length ? [process.execPath] : []), '--import', 'tsx', '--input-type=module', '-e', code],
    {
      cwd: REPO,
      encoding: 'utf8',
    },
  );
  return JSON.parse(out) as { warning: string | null; thread: number; other: number };
}

describe.runIf(process.platform === 'linux')('setThreadNice', () => {
  it('sets the calling thread only', () => {
    const r = inChild(3);
    expect(r).toEqual({ warning: null, thread: 3, other: 0 });
  });

  it.runIf(process.getuid?.() === 0 && existsSync('/usr/bin/setpriv'))('warns in one line when the system refuses, and goes on', () => {
    const r = inChild(-10, ['/usr/bin/setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all']);
    console.log(`[serve] unprivileged: ${r.warning}`);
    expect(r.warning).toMatch(/^the HTTP thread could not take nice -10 \(EACCES: it needs root or CAP_SYS_NICE/);
    expect(r.warning).not.toContain('\n');
    expect(r.thread).toBe(0);
  });
});
