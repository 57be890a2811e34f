// STUB (issue 10, being built): removes the `ambit.dev/agent-not-ready` startup taint from a Node
// once that node's agent is subscribed and has ACKed (while this replica leads).
import type { Logger } from 'pino';
import type { ConfigResources } from '../../core/model/validate-config.js';
import type { SubscriberRecord } from '../subscriber-session.js';
import type { KubeApi } from './kube-api.js';
import type { LeaderGate } from './leader-election.js';

export const AGENT_NOT_READY_TAINT = 'ambit.dev/agent-not-ready';

export interface NodeStartupTaintsOptions {
  api: KubeApi;
  leader: LeaderGate;
  config: () => ConfigResources;
  subscribers: () => readonly SubscriberRecord[];
  logger: Logger;
}

export class NodeStartupTaints {
  constructor(private readonly o: NodeStartupTaintsOptions) {}
  start(): void {
    this.o.logger.debug('node startup taints are not built yet');
  }
  nudge(): void {}
  stop(): Promise<void> {
    return Promise.resolve();
  }
}
