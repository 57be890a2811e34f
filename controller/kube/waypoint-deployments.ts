// STUB (issue 10, being built): for every Gateway of class ambit-waypoint, the leader creates and
// keeps a ServiceAccount, Deployment, Service and PodDisruptionBudget owned by the Gateway, so
// deleting the Gateway deletes them (garbage collection by owner reference).
import type { Logger } from 'pino';
import type { ConfigResources } from '../../core/model/validate-config.js';
import type { KubeApi } from './kube-api.js';
import type { LeaderGate } from './leader-election.js';

export interface WaypointDeploymentsOptions {
  api: KubeApi;
  leader: LeaderGate;
  config: () => ConfigResources;
  /** The image the waypoint pods run (the controller's own, AMBIT_IMAGE). */
  image: string;
  /** host:port of the controller Service the waypoints dial. */
  controllerAddress: string;
  logger: Logger;
}

export class WaypointDeployments {
  constructor(private readonly o: WaypointDeploymentsOptions) {}
  start(): void {
    this.o.logger.debug('waypoint deployments are not built yet');
  }
  nudge(): void {}
  stop(): Promise<void> {
    return Promise.resolve();
  }
}
