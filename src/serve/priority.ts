/**
 * The HTTP thread above the model threads. On a machine whose cores the models fill, the thread that
 * accepts connections, refuses overload and answers health checks gets its share of a core only as
 * often as the scheduler's fairness allows, and under 5× load it fell hundreds of ms behind (the
 * kernel completes the TCP handshake at once; the server accepted the connection 150–400 ms later).
 * Raising that thread's priority (nginx's `worker_priority`) keeps it ahead; the model workers are
 * set back to the process's own priority, so they share the machine with other processes as before.
 *
 * On Linux a nice value belongs to one thread; elsewhere to the whole process, where the split means
 * nothing and is not made.
 */
import { getPriority, setPriority } from 'node:os';

/** The nice value the model workers run at: the process's, before any raise (undefined off Linux). */
export function baseNice(): number | undefined {
  return process.platform === 'linux' ? getPriority() : undefined;
}

/**
 * Gives the calling thread the nice value `nice`. Returns a one-line warning instead of throwing when
 * the system does not allow it (a negative nice needs root or CAP_SYS_NICE), or null when done.
 */
export function setThreadNice(nice: number): string | null {
  if (process.platform !== 'linux') return `the HTTP thread's priority is set on Linux only; it stays as it is on ${process.platform}`;
  try {
    setPriority(nice);
    return null;
  } catch (e) {
    // Node wraps the system's errno (EACCES, EPERM) in ERR_SYSTEM_ERROR's `info`
    const why = (e as { info?: { code?: string } }).info?.code ?? (e as Error).message;
    return (
      `the HTTP thread could not take nice ${nice} (${why}: it needs root or ` +
      `CAP_SYS_NICE, e.g. docker run --cap-add SYS_NICE); it runs at nice ${getPriority()}, so under overload health checks and ` +
      `refusals may wait for the models; --http-nice 0 silences this`
    );
  }
}
