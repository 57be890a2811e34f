// A ControlPlane without a controller: a CertificateAuthority made in-process issues the node and
// workload certificates, and the test pushes MeshStates. For unit tests and benches that need
// real TLS and real listeners but not the `ambit controller` process.
import { CertificateAuthority } from '../../core/identity/certificate-authority.js';
import { CertificateRotator, type Clock } from '../../core/identity/certificate-rotator.js';
import { createCsr } from '../../core/identity/csr.js';
import { generateKey } from '../../core/identity/keys.js';
import { nodeIdentity } from '../../core/identity/spiffe.js';
import {
  issuedCertificateFromChain,
  type IssuedCertificate,
} from '../../core/identity/issued-certificate.js';
import type { MeshState } from '../../core/model/mesh.js';
import type { ControlPlane } from '../../ztunnel/control-plane.js';

export async function issue(
  ca: CertificateAuthority,
  identity: string,
  ttlMs?: number,
  now?: Date,
): Promise<IssuedCertificate> {
  const key = await generateKey();
  const leaf = await ca.sign(await createCsr(key, identity), identity, ttlMs, now);
  return issuedCertificateFromChain(key.privateKeyPem, [leaf, ca.rootPem]);
}

/** The discovery half of an in-process control plane: subscribers get the last state, then each push. */
export class StatePublisher {
  private readonly listeners = new Set<(s: MeshState, v: string) => void | Promise<void>>();
  private state: MeshState | undefined;
  private version = 0;

  async subscribe(onState: (s: MeshState, v: string) => void | Promise<void>) {
    this.listeners.add(onState);
    if (this.state) await onState(this.state, String(this.version));
    return { close: async () => void this.listeners.delete(onState) };
  }

  async push(state: MeshState): Promise<void> {
    this.state = state;
    this.version++;
    for (const l of this.listeners) await l(state, String(this.version));
  }
}

export class InProcessControlPlane implements ControlPlane {
  private readonly states = new StatePublisher();
  readonly issued: IssuedCertificate[] = [];
  private readonly rotators = new Set<CertificateRotator>();

  constructor(
    readonly ca: CertificateAuthority,
    private readonly node: string,
    private readonly o: { ttlMs?: number; clock?: Clock } = {},
  ) {}

  private async issue(identity: string): Promise<IssuedCertificate> {
    const c = await issue(this.ca, identity, this.o.ttlMs);
    this.issued.push(c);
    return c;
  }

  nodeCertificate(onRotate: (c: IssuedCertificate) => void) {
    const r = new CertificateRotator({
      identity: nodeIdentity(this.ca.trustDomain, this.node),
      issue: () => this.issue(nodeIdentity(this.ca.trustDomain, this.node)),
      onRotate,
      ...(this.o.clock ? { clock: this.o.clock } : {}),
    });
    this.rotators.add(r);
    return r;
  }

  workloadRotator = (identity: string, onRotate: (c: IssuedCertificate) => void) => {
    const r = new CertificateRotator({
      identity,
      issue: () => this.issue(identity),
      onRotate,
      ...(this.o.clock ? { clock: this.o.clock } : {}),
    });
    this.rotators.add(r);
    return r;
  };

  subscribe(onState: (s: MeshState, v: string) => void | Promise<void>) {
    return this.states.subscribe(onState);
  }

  push(state: MeshState): Promise<void> {
    return this.states.push(state);
  }

  close(): void {
    for (const r of this.rotators) r.stop();
  }
}
