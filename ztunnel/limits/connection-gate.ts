// Admission for one listener: decides whether a just-accepted connection may stay, from the
// counts it keeps (open connections overall and per source address, handshakes in flight) and
// the process's fd headroom. Pure bookkeeping, no sockets: the listener closes what is refused
// and hands the ticket back when a connection ends.
import type { FdHeadroom } from './fd-headroom.js';
import type { LimitName } from './listener-limits.js';

export interface GateLimits {
  maxConnections: number;
  maxConnectionsPerSource: number;
  maxHandshakes: number;
}

/** Held by an admitted connection; both methods are idempotent. */
export interface GateTicket {
  /** The handshake finished (TLS secure, SOCKS5 request read). */
  handshakeDone(): void;
  /** The connection closed. */
  release(): void;
}

export type Admission = { kind: 'admit'; ticket: GateTicket } | { kind: 'refuse'; limit: LimitName };

export class ConnectionGate {
  private open = 0;
  private handshaking = 0;
  private readonly perSource = new Map<string, number>();

  constructor(
    private readonly limits: GateLimits,
    private readonly fds?: FdHeadroom,
  ) {}

  get connections(): number {
    return this.open;
  }

  get handshakes(): number {
    return this.handshaking;
  }

  /** `handshake`: the connection starts with a handshake that counts against maxHandshakes. */
  admit(source: string, handshake: boolean): Admission {
    if (this.fds?.exhausted()) return { kind: 'refuse', limit: 'fd-reserve' };
    if (this.open >= this.limits.maxConnections) return { kind: 'refuse', limit: 'connections' };
    const fromSource = this.perSource.get(source) ?? 0;
    if (fromSource >= this.limits.maxConnectionsPerSource)
      return { kind: 'refuse', limit: 'connections-per-source' };
    if (handshake && this.handshaking >= this.limits.maxHandshakes)
      return { kind: 'refuse', limit: 'handshakes' };
    this.open++;
    this.perSource.set(source, fromSource + 1);
    this.fds?.acquire();
    let handshaking = handshake;
    if (handshake) this.handshaking++;
    let released = false;
    const handshakeDone = () => {
      if (!handshaking) return;
      handshaking = false;
      this.handshaking--;
    };
    return {
      kind: 'admit',
      ticket: {
        handshakeDone,
        release: () => {
          if (released) return;
          released = true;
          handshakeDone();
          this.open--;
          const n = (this.perSource.get(source) ?? 1) - 1;
          if (n <= 0) this.perSource.delete(source);
          else this.perSource.set(source, n);
          this.fds?.release();
        },
      },
    };
  }
}
