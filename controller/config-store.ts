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

/** The health of one watched kind (the Kubernetes store; one line each in `ambit status`). */
export interface WatchStatus {
  kind: string;
  /** listing, watching, backoff, absent (API not served), forbidden or stopped */
  state: string;
  objects: number;
  resourceVersion: string;
  /** ISO time of the last watch event or bookmark. */
  lastEventAt?: string | undefined;
  restarts: number;
  lastRestartReason?: string | undefined;
  lastError?: string | undefined;
  relists: number;
  lastRelistAt?: string | undefined;
}

export interface ConfigStoreStatus {
  /** e.g. `dir:/etc/ambit/config` */
  source: string;
  /**
   * The newest change, when it was rejected; cleared by the next accepted change. The Kubernetes
   * store sets it while any object is held back (its previous version kept, or left out).
   */
  lastRejected?: RejectedChange;
  /** Per watched kind (Kubernetes store only). */
  watches?: WatchStatus[];
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
