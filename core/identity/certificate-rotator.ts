// Keeps one identity's certificate fresh: first issuance on start(), renewal at half-life, retries
// with exponential backoff (capped) on failure, and the old certificate stays current until it
// expires so open connections and new handshakes keep working. Time comes from an injected clock.
import type { Logger } from 'pino';
import type { IssuedCertificate } from './issued-certificate.js';

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): { clear(): void };
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return { clear: () => clearTimeout(t) };
  },
};

export const ROTATION_BACKOFF = { initialMs: 1_000, maxMs: 60_000, factor: 2 } as const;

/** When to renew: at half of the certificate's lifetime. Pure. */
export function renewAt(cert: Pick<IssuedCertificate, 'notBefore' | 'notAfter'>): number {
  const from = cert.notBefore.getTime();
  return from + (cert.notAfter.getTime() - from) / 2;
}

export function retryDelay(attempt: number): number {
  return Math.min(ROTATION_BACKOFF.initialMs * ROTATION_BACKOFF.factor ** attempt, ROTATION_BACKOFF.maxMs);
}

export class CertificateRotator {
  private cert: IssuedCertificate | undefined;
  private timer: { clear(): void } | undefined;
  private stopped = false;
  private attempt = 0;
  private readonly clock: Clock;

  constructor(
    private readonly o: {
      identity: string;
      issue: () => Promise<IssuedCertificate>;
      onRotate?: (c: IssuedCertificate) => void;
      clock?: Clock;
      logger?: Logger;
    },
  ) {
    this.clock = o.clock ?? systemClock;
  }

  async start(): Promise<IssuedCertificate> {
    this.stopped = false;
    const cert = await this.o.issue();
    this.install(cert);
    return cert;
  }

  current(): IssuedCertificate {
    if (!this.cert) throw new Error(`no certificate for ${this.o.identity} yet: call start() first`);
    return this.cert;
  }

  stop(): void {
    this.stopped = true;
    this.timer?.clear();
    this.timer = undefined;
  }

  private install(cert: IssuedCertificate): void {
    this.cert = cert;
    this.attempt = 0;
    this.schedule(Math.max(0, renewAt(cert) - this.clock.now()));
  }

  private schedule(ms: number): void {
    this.timer?.clear();
    if (this.stopped) return;
    this.timer = this.clock.setTimeout(() => void this.renew(), ms);
  }

  private async renew(): Promise<void> {
    if (this.stopped) return;
    try {
      const cert = await this.o.issue();
      if (this.stopped) return;
      this.install(cert);
      this.o.logger?.info(
        { identity: this.o.identity, notAfter: cert.notAfter.toISOString() },
        'certificate rotated',
      );
      this.o.onRotate?.(cert);
    } catch (err) {
      if (this.stopped) return;
      const delay = retryDelay(this.attempt++);
      const old = this.cert!;
      const expired = old.notAfter.getTime() <= this.clock.now();
      this.o.logger?.warn(
        { identity: this.o.identity, err: (err as Error).message, retryInMs: delay, expired },
        expired
          ? 'certificate renewal failed and the old certificate has expired'
          : 'certificate renewal failed; keeping the current certificate',
      );
      this.schedule(delay);
    }
  }
}
