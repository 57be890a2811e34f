// The config store seen by the controller: an immutable snapshot behind a small watch (get(),
// subscribe()) plus the status of the last rejected change. The directory store implements it
// today; a Kubernetes informer-fed store can replace it without touching the controller.
import type { ConfigError } from '../core/model/config-error.js';
import type { ConfigResources } from '../core/model/validate-config.js';

export interface ConfigSnapshot {
  /** Increases with every accepted change. */
  generation: number;
  resources: ConfigResources;
  acceptedAt: string;
}

export interface RejectedChange {
  at: string;
  errors: ConfigError[];
}

export interface ConfigStoreStatus {
  /** e.g. `dir:/etc/ambit/config` */
  source: string;
  /** The newest change, when it was rejected; cleared by the next accepted change. */
  lastRejected?: RejectedChange;
}

export interface ConfigStore {
  /** Loads the first snapshot (an invalid first config yields an empty one plus lastRejected). */
  start(): Promise<void>;
  get(): ConfigSnapshot;
  /** Called after every accepted change and every rejection; returns an unsubscribe function. */
  subscribe(fn: (s: ConfigSnapshot) => void): () => void;
  status(): ConfigStoreStatus;
  close(): Promise<void>;
}
