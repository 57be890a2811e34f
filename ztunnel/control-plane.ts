// What the ztunnel needs from the controller, as one small interface: its node certificate (kept
// fresh), a rotator per workload identity, and the discovery subscription. The production
// implementation (controller-control-plane.ts) speaks gRPC to `ambit controller`; tests pass an
// in-process one backed by a CertificateAuthority and a MeshState they push.
import type { MeshState } from '../core/model/mesh.js';
import type { RotatingCertificate, RotatorFactory } from './identity/workload-certificates.js';
import type { Credential } from './identity/credential.js';

export interface ControlPlane {
  /** The node identity's rotator (bootstrapped with the join token). */
  nodeCertificate(onRotate: (c: Credential) => void): RotatingCertificate;
  /** Rotators for identities of pods on this node (needs the node certificate to be up). */
  workloadRotator: RotatorFactory;
  /** Subscribes to this node's view; resolves once subscribed. Throwing from onState NACKs. */
  subscribe(
    onState: (state: MeshState, version: string) => void | Promise<void>,
  ): Promise<{ close(): Promise<void> }>;
  close(): void;
}
