// STUB (issue 10, being built): Lease-based leader election (coordination.k8s.io/v1) among the
// controller replicas. Every replica serves discovery and the CA; only the leader writes status
// and reconciles waypoint Deployments and node taints.
import type { Logger } from 'pino';
import type { KubeApi } from './kube-api.js';

/** Whether this replica may write now; tasks that write watch onChange. */
export interface LeaderGate {
  isLeader(): boolean;
  /** Called with the new value whenever leadership is gained or lost; returns an unsubscribe. */
  onChange(fn: (leader: boolean) => void): () => void;
}

export interface LeaseLeaderElectionOptions {
  api: KubeApi;
  /** Namespace of the Lease (the controller's own, POD_NAMESPACE, default ambit-system). */
  namespace: string;
  /** Lease name, `ambit-controller`. */
  name: string;
  /** This replica (POD_NAME, else the hostname). */
  identity: string;
  logger: Logger;
}

export class LeaseLeaderElection implements LeaderGate {
  constructor(private readonly o: LeaseLeaderElectionOptions) {}
  start(): void {
    this.o.logger.warn('leader election is not built yet: this replica never leads');
  }
  isLeader(): boolean {
    return false;
  }
  onChange(): () => void {
    return () => undefined;
  }
  /** Stops renewing and releases the Lease when held, so another replica takes over at once. */
  stop(): Promise<void> {
    return Promise.resolve();
  }
}
