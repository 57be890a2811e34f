// STUB (issue 10, being built): the Kubernetes config store. Watches the kinds the mesh reads
// (Namespaces, Pods, Services, EndpointSlices, ServiceAccounts, Nodes, Gateways, HTTPRoutes,
// GRPCRoutes, Ambit CRDs) with a list/watch reflector per kind and feeds the same validation and
// mesh-state computation as the embedded directory store.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ConfigSnapshot, ConfigStore, ConfigStoreStatus } from '../config-store.js';
import type { KubeApi } from './kube-api.js';
import { ctlError } from '../errors.js';

export interface KubeConfigStoreOptions {
  api: KubeApi;
  logger: Logger;
  /** Where the per-kind watch metrics are registered (the controller's --metrics-listen). */
  registry: Registry;
}

export class KubeConfigStore implements ConfigStore {
  constructor(private readonly o: KubeConfigStoreOptions) {}
  start(): Promise<void> {
    return Promise.reject(
      ctlError('CTL_KUBE_STORE', `the Kubernetes store is not built yet (${this.o.api.server})`),
    );
  }
  get(): ConfigSnapshot {
    throw ctlError('CTL_KUBE_STORE', 'the Kubernetes store is not built yet');
  }
  subscribe(): () => void {
    return () => undefined;
  }
  status(): ConfigStoreStatus {
    return { source: `kube:${this.o.api.server}` };
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}
