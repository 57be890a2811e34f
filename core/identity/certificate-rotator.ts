// Keeps one identity's certificate fresh: first issuance on start(), renewal at half-life, retries
// with the shared exponential backoff (capped, jittered) on failure, and the old certificate stays
// current until it expires so open connections and new handshakes keep working. Time and the
// jitter's randomness come injected.
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../policy/clock.js';
import { backoffCeiling, ExponentialBackoff, type BackoffPolicy } from '../policy/exponential-backoff.js';
import type { IssuedCertificate } from './issued-certificate.js';

export { systemClock, type Clock };

export const ROTATION_BACKOFF: BackoffPolicy = { initialMs: 1_000, maxMs: 60_000, factor: 2 };

/** When to renew: at half of the certificate's lifetime. Pure. */
export function renewAt(cert: Pick<IssuedCertificate, 'notBefore' | 'notAfter'>): number {
  const from = cert.notBefore.getTime();
  return from + (cert.notAfter.getTime() - from) / 2;
}

/** The longest wait before renewal retry number `attempt` (0-based); jitter shortens it up to half. */
export function retryDelay(attempt: number): number {
  return backoffCeiling(ROTATION_BACKOFF, attempt);
}

export class CertificateRotator {
  private cert: IssuedCertificate | undefined;
  private timer: { clear(): void } | undefined;
  private stopped = false;
  private readonly backoff: ExponentialBackoff;
  private readonly clock: Clock;

  constructor(
    private readonly o: {
      identity: string;
      issue: () => Promise<IssuedCertificate>;
      onRotate?: (c: IssuedCertificate) => void;
      clock?: Clock;
      /** The jitter's random source in [0, 1); Math.random by default. */
      random?: () => number;
      logger?: Logger;
    },
  ) {
    this.clock = o.clock ?? systemClock;
    this.backoff = new ExponentialBackoff(ROTATION_BACKOFF, {
      clock: this.clock,
      ...(o.random ? { random: o.random } : {}),
    });
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
    this.backoff.reset();
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
      const delay = this.backoff.next();
      const expired = (this.cert?.notAfter.getTime() ?? 0) <= this.clock.now();
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
