// Certificates of the enrolled pods on this node, one CertificateRotator per identity. Fetched
// eagerly when a pod appears in the snapshot (so a pod's first connection does not wait for a CSR
// round trip to the CA) and lazily on first use if a connection races the snapshot. Each
// rotation builds a new SecureContext; onRotate lets the pool retire connections made with the
// old one (they finish their tunnels; new tunnels use the new certificate).
import type { SecureContext } from 'node:tls';
import { secureContextOf, type Credential } from './credential.js';

export interface RotatingCertificate {
  start(): Promise<Credential>;
  current(): Credential;
  stop(): void;
}

export type RotatorFactory = (identity: string, onRotate: (c: Credential) => void) => RotatingCertificate;

export interface TlsMaterial {
  credential: Credential;
  secureContext: SecureContext;
}

interface Entry {
  rotator: RotatingCertificate;
  ready: Promise<TlsMaterial>;
  material?: TlsMaterial;
}

export class WorkloadCertificates {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly makeRotator: RotatorFactory,
    private readonly hooks: {
      onRotate?: (identity: string, c: Credential) => void;
      onError?: (identity: string, err: unknown) => void;
    } = {},
  ) {}

  /** The current TLS material for `identity`, starting its rotator if needed. */
  get(identity: string): Promise<TlsMaterial> {
    const e = this.entries.get(identity);
    if (e?.material) return Promise.resolve(e.material);
    return (e ?? this.start(identity)).ready;
  }

  /** Starts rotators for identities that appeared, stops those no pod on this node uses anymore. */
  sync(identities: ReadonlySet<string>): void {
    for (const id of identities) if (!this.entries.has(id)) this.start(id).ready.catch(() => undefined);
    for (const [id, e] of this.entries) {
      if (!identities.has(id)) {
        e.rotator.stop();
        this.entries.delete(id);
      }
    }
  }

  held(): { identity: string; notAfter: Date }[] {
    return [...this.entries.values()].flatMap((e) =>
      e.material
        ? [{ identity: e.material.credential.identity, notAfter: e.material.credential.notAfter }]
        : [],
    );
  }

  stop(): void {
    for (const e of this.entries.values()) e.rotator.stop();
    this.entries.clear();
  }

  private start(identity: string): Entry {
    // the rotator's callback and the first issuance fill in `material` of this same object, which
    // becomes the entry once its rotator and first-issuance promise exist
    const state: { material?: TlsMaterial } = {};
    const rotator = this.makeRotator(identity, (c) => {
      state.material = { credential: c, secureContext: secureContextOf(c) };
      this.hooks.onRotate?.(identity, c);
    });
    const ready = rotator.start().then(
      (c) => {
        const material = { credential: c, secureContext: secureContextOf(c) };
        state.material = material;
        return material;
      },
      (err: unknown) => {
        // Forget the failed attempt so the next connection tries again.
        if (this.entries.get(identity) === entry) this.entries.delete(identity);
        rotator.stop();
        this.hooks.onError?.(identity, err);
        throw err;
      },
    );
    const entry: Entry = Object.assign(state, { rotator, ready });
    this.entries.set(identity, entry);
    return entry;
  }
}
