/**
 * The load generator `bench:serve` drives the server with: `node:http` over keep-alive sockets, one
 * prepared body written as it is. On a 2-core machine the generator shares the cores with the server,
 * so its own cost is part of every figure: `fetch` (undici's WHATWG layer) spent about 3 ms of a
 * core per 600 KB request and, at 5× load, held answers it had already received for hundreds of ms.
 */
import { Agent, request } from 'node:http';

/** One answer: its status and the time from sending to its last byte, in ms. */
export interface Answer {
  status: number;
  ms: number;
}

/** A POST of one prepared body, and GETs, to one server, over sockets kept open between requests. */
export class LoadClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 1024 });
  private readonly host: string;
  private readonly port: number;

  constructor(url: string) {
    const u = new URL(url);
    this.host = u.hostname;
    this.port = Number(u.port);
  }

  /** Sends one request and reads its whole answer. */
  send(method: 'GET' | 'POST', path: string, body?: Buffer, headers: Record<string, string> = {}): Promise<Answer> {
    const t0 = performance.now();
    return new Promise((resolve, reject) => {
      const req = request(
        {
          agent: this.agent,
          host: this.host,
          port: this.port,
          method,
          path,
          headers: body ? { ...headers, 'content-length': String(body.length) } : headers,
        },
        (res) => {
          res.on('data', () => undefined);
          res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0 }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Closes the kept sockets. */
  close(): void {
    this.agent.destroy();
  }
}
