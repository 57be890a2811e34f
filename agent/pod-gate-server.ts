// The pod start gate's unix socket (node-local: no TCP port): `<state-dir>/agent-<node>.gate.sock`,
// mode 0600 (root only, as the kubelet's CNI plugins run). One request line per connection, one
// answer line back, then close. A stale socket left by a killed agent is replaced; a request that
// is too long, not JSON or names no pod gets an error line, never a crash.
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Logger } from 'pino';
import { GATE_MAX_LINE, decodeGateRequest } from './pod-gate-protocol.js';
import type { PodGate } from './pod-gate.js';

export interface PodGateServerOptions {
  socketPath: string;
  gate: PodGate;
  logger: Logger;
  /** a client that sends no full line within this long is dropped (default 5 s) */
  idleMs?: number;
}

export class PodGateServer {
  private readonly server: net.Server;

  private constructor(
    private readonly o: PodGateServerOptions,
    server: net.Server,
  ) {
    this.server = server;
  }

  static async listen(o: PodGateServerOptions): Promise<PodGateServer> {
    mkdirSync(path.dirname(o.socketPath), { recursive: true, mode: 0o700 });
    rmSync(o.socketPath, { force: true }); // a killed agent leaves its socket file behind
    const server = net.createServer((sock) => handle(o, sock));
    const s = new PodGateServer(o, server);
    const oldMask = process.umask(0o177); // bound with 0600 from the start, not chmod-ed after
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(o.socketPath, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } finally {
      process.umask(oldMask);
    }
    chmodSync(o.socketPath, 0o600);
    o.logger.info({ socket: o.socketPath }, 'pod gate listening');
    return s;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.o.socketPath, { force: true });
  }
}

function handle(o: PodGateServerOptions, sock: net.Socket): void {
  let buf = '';
  let answered = false;
  sock.setTimeout(o.idleMs ?? 5000, () => sock.destroy());
  sock.on('error', () => undefined); // a client that went away; nothing to answer
  const reply = (obj: unknown): void => {
    answered = true;
    sock.end(`${JSON.stringify(obj)}\n`);
  };
  sock.on('data', (chunk: Buffer) => {
    if (answered) return;
    buf += chunk.toString('utf8');
    const nl = buf.indexOf('\n');
    if (nl < 0) {
      if (buf.length > GATE_MAX_LINE) reply({ error: `request longer than ${GATE_MAX_LINE} bytes` });
      return;
    }
    const req = decodeGateRequest(buf.slice(0, nl));
    if (!req.ok) {
      reply({ error: `bad request: ${req.error}` });
      return;
    }
    answered = true;
    o.gate.answer(req.value.pod).then(
      (a) => {
        if (a.ready) o.logger.info({ ...a }, 'pod gate passed');
        else o.logger.debug({ ...a }, 'pod gate: not yet');
        sock.end(`${JSON.stringify(a)}\n`);
      },
      (err: unknown) => {
        o.logger.warn({ err, pod: req.value.pod }, 'pod gate failed');
        sock.end(`${JSON.stringify({ error: (err as Error).message })}\n`);
      },
    );
  });
}
