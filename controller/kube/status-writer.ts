// STUB (issue 10, being built): writes route and Gateway status conditions (Accepted,
// ResolvedRefs, PartiallyInvalid; Programmed on waypoints) to the API server while this replica
// leads, from the same pure status functions `ambit status` shows.
import type { Logger } from 'pino';
import type { ConfigResources } from '../../core/model/validate-config.js';
import type { MeshState } from '../../core/model/mesh.js';
import type { SubscriberRecord } from '../subscriber-session.js';
import type { KubeApi } from './kube-api.js';
import type { LeaderGate } from './leader-election.js';

export interface KubeStatusWriterOptions {
  api: KubeApi;
  leader: LeaderGate;
  /** The accepted config and the mesh state computed from it, now. */
  config: () => ConfigResources;
  state: () => MeshState;
  /** This replica's discovery streams open now (waypoint instances subscribed here). */
  subscribers: () => readonly SubscriberRecord[];
  logger: Logger;
}

export class KubeStatusWriter {
  constructor(private readonly o: KubeStatusWriterOptions) {}
  start(): void {
    this.o.logger.debug('status writes are not built yet');
  }
  /** The config, the state or a subscription changed: recompute and write what differs. */
  nudge(): void {}
  stop(): Promise<void> {
    return Promise.resolve();
  }
}
