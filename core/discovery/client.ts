// The subscriber side of discovery, used by the agent, the ztunnel and the waypoint: one
// bidirectional stream to the controller, a full snapshot first, then deltas applied onto the
// records held here; every push is ACKed, or NACKed with the error onState threw (the previous
// state then stays). Reconnects with backoff forever; a new stream starts from a full snapshot.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { discoveryError } from './errors.js';
import { identityError } from '../identity/errors.js';
import type { MeshState } from '../model/mesh.js';
import { bootstrapNodeIdentity, bootstrapWaypointIdentity } from '../identity/ca-client.js';
import { renewAt } from '../identity/certificate-rotator.js';
import { keepAliveSystemClock } from '../policy/clock.js';
import { ExponentialBackoff, type BackoffPolicy } from '../policy/exponential-backoff.js';
import type { IssuedCertificate } from '../identity/issued-certificate.js';
import {
  controllerChannelCredentials,
  controllerChannelOptions,
  readRootCert,
} from '../identity/controller-endpoint.js';
import { meshProtos } from './proto.js';
import { isMeshResourceType, meshStateFromRecords, resourceKey, type TypeChange } from './mesh-resources.js';
import { decodeRecord, type MeshRecord } from './record-decoders.js';
import type { DiscoveryRequest, DiscoveryResponse } from './wire-types.js';

export interface DiscoveryClientOptions {
  controller: string;
  stateDir: string;
  subscriber: { kind: 'agent' | 'ztunnel' | 'waypoint'; node?: string; name?: string };
  /** throw => NACK with the error's message; state is the full merged MeshState (deltas applied) */
  onState: (state: MeshState, version: string) => void | Promise<void>;
  logger?: Logger;
  /** mTLS client cert; when absent the client bootstraps its identity itself with its token. */
  credentials?: () => IssuedCertificate;
  /** Scoped bootstrap token (--token-file); default: the state dir's join-token. */
  tokenFile?: string | undefined;
}

/** Reconnect backoff; reset after a stream delivered a push. */
export const DISCOVERY_BACKOFF: BackoffPolicy = { initialMs: 100, maxMs: 5_000, factor: 2 };

/** Refusals that retrying cannot fix: start() rejects with them instead of retrying. */
const FATAL = new Set([
  grpc.status.PERMISSION_DENIED,
  grpc.status.UNAUTHENTICATED,
  grpc.status.INVALID_ARGUMENT,
]);

type Records = Map<string, Map<string, MeshRecord>>;

type StreamCall = grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;

export class DiscoveryClient {
  private records: Records = new Map();
  private version = '';
  private state: MeshState | undefined;
  private bootstrapped: IssuedCertificate | undefined;
  private client: grpc.Client | undefined;
  private call: StreamCall | undefined;
  private closed = false;
  /** Its timers keep the process alive: reconnecting may be all a subscriber has left to do. */
  private readonly reconnect = new ExponentialBackoff(DISCOVERY_BACKOFF, { clock: keepAliveSystemClock });
  private queue: Promise<void> = Promise.resolve();
  /** Settles start(); `done` until start() is called so close() before start() is harmless. */
  private firstApplied: { resolve: () => void; reject: (e: Error) => void; done: boolean } = {
    resolve: () => undefined,
    reject: () => undefined,
    done: true,
  };

  /** Whose identity this subscriber bootstraps when it holds no credential: its node or its waypoint. */
  private readonly bootstrapAs: { waypoint: string } | { node: string };

  constructor(private readonly o: DiscoveryClientOptions) {
    const { kind, node, name } = o.subscriber;
    if (kind === 'waypoint') {
      if (!name) throw discoveryError('DISC_BAD_SUBSCRIBER', 'waypoint subscriber needs name <ns>/<gateway>');
      this.bootstrapAs = { waypoint: name };
    } else {
      if (!node) throw discoveryError('DISC_BAD_SUBSCRIBER', `${kind} subscriber needs a node`);
      this.bootstrapAs = { node };
    }
  }

  /** Resolves once the first snapshot was applied (onState returned without throwing). */
  start(): Promise<void> {
    const p = new Promise<void>((resolve, reject) => {
      this.firstApplied = { resolve, reject, done: false };
    });
    void this.connect();
    return p;
  }

  /** The last applied state and its version (undefined before the first snapshot). */
  current(): { state: MeshState; version: string } | undefined {
    return this.state ? { state: this.state, version: this.version } : undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.reconnect.cancel();
    this.call?.cancel();
    this.client?.close();
    this.call = undefined;
    this.client = undefined;
    if (!this.firstApplied.done)
      this.settleFirst(discoveryError('DISC_CLOSED', 'discovery client closed before the first snapshot'));
    await this.queue.catch(() => undefined);
  }

  private settleFirst(err?: Error): void {
    if (this.firstApplied.done) return;
    this.firstApplied.done = true;
    if (err) this.firstApplied.reject(err);
    else this.firstApplied.resolve();
  }

  private async credentials(): Promise<IssuedCertificate> {
    if (this.o.credentials) return this.o.credentials();
    const c = this.bootstrapped;
    if (c && Date.now() < renewAt(c)) return c;
    const { controller, stateDir, tokenFile } = this.o;
    const as = this.bootstrapAs;
    this.bootstrapped =
      'waypoint' in as
        ? await bootstrapWaypointIdentity({ controller, stateDir, tokenFile, waypoint: as.waypoint })
        : await bootstrapNodeIdentity({ controller, stateDir, tokenFile, node: as.node });
    return this.bootstrapped;
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    let cert: IssuedCertificate;
    let rootPem: string;
    try {
      rootPem = readRootCert(this.o.stateDir);
      cert = await this.credentials();
    } catch (err) {
      // refused before the first snapshot: a configuration error, not worth retrying; later (e.g. a
      // waypoint briefly missing from the config) keep retrying like any other outage
      if (identityError.is(err, 'CA_PERMISSION_DENIED') && !this.firstApplied.done) return this.fatal(err);
      return this.retry(err as Error);
    }
    if (this.closed) return;
    const client = new (meshProtos().discovery)(
      this.o.controller,
      controllerChannelCredentials(rootPem, cert),
      controllerChannelOptions(),
    );
    const call = client.Stream();
    this.client = client;
    this.call = call;
    const { kind, node = '', name = '' } = this.o.subscriber;
    call.write({ subscriber: { kind, node, name }, responseNonce: '', versionInfo: '', errorDetail: '' });
    call.on('data', (res: DiscoveryResponse) => {
      this.queue = this.queue.then(() => this.apply(call, res));
    });
    call.on('error', (err: grpc.ServiceError) => {
      if (this.call !== call) return;
      this.dropStream();
      if (err.code === grpc.status.CANCELLED && this.closed) return;
      if (FATAL.has(err.code) && !this.firstApplied.done) {
        this.fatal(
          discoveryError(
            'DISC_REFUSED',
            `controller refused the subscription: ${err.details || err.message}`,
            err,
          ),
        );
        return;
      }
      // a self-bootstrapped certificate the controller no longer accepts (e.g. its root changed):
      // get a new one with the join token on the next attempt
      if (err.code === grpc.status.UNAUTHENTICATED) this.bootstrapped = undefined;
      this.retry(err);
    });
    call.on('end', () => {
      if (this.call !== call) return;
      this.dropStream();
      this.retry(new Error('controller ended the stream'));
    });
  }

  private dropStream(): void {
    this.client?.close();
    this.client = undefined;
    this.call = undefined;
  }

  private fatal(err: Error): void {
    this.o.logger?.error(
      { controller: this.o.controller, err: err.message },
      'discovery subscription refused; not retrying',
    );
    this.closed = true;
    this.settleFirst(err);
  }

  private retry(err: Error): void {
    if (this.closed) return;
    const delay = this.reconnect.schedule(() => void this.connect());
    this.o.logger?.warn(
      { controller: this.o.controller, err: err.message, retryInMs: delay },
      'discovery stream down; reconnecting',
    );
  }

  private async apply(call: StreamCall, res: DiscoveryResponse): Promise<void> {
    if (this.call !== call) return;
    this.reconnect.reset();
    // a delta is applied in place with an undo log (no copy of 10k-record maps per push); a NACK
    // (onState threw, or the push is malformed) rolls it back so the previous state stays whole
    const records: Records = res.full ? new Map() : this.records;
    const undo: { type: string; key: string; had: boolean; value: MeshRecord | undefined }[] = [];
    const touched = new Map<string, TypeChange>();
    const typeRecords = (type: string): { byKey: Map<string, MeshRecord>; change: TypeChange } => {
      if (!isMeshResourceType(type)) throw new Error(`unknown resource type "${type}"`);
      let byKey = records.get(type);
      if (!byKey) records.set(type, (byKey = new Map()));
      let change = touched.get(type);
      if (!change) touched.set(type, (change = { upserted: [], structural: false }));
      return { byKey, change };
    };
    let state: MeshState;
    try {
      // every record is decoded (core/discovery/record-decoders.ts) before any is applied; all the
      // problems of the push are named in the NACK, each with its record type, key and field path
      const invalid: string[] = [];
      const decoded: { type: string; key: string; record: MeshRecord }[] = [];
      for (const r of res.resources) {
        if (!isMeshResourceType(r.type)) {
          invalid.push(`unknown resource type "${r.type}" (key "${r.key}")`);
          continue;
        }
        const d = decodeRecord(r.type, r.key, r.value);
        if (!d.valid) invalid.push(...d.errors);
        else if (resourceKey(r.type, d.record) !== r.key)
          invalid.push(`${r.type} "${r.key}": (record): its key is "${resourceKey(r.type, d.record)}"`);
        else decoded.push({ type: r.type, key: r.key, record: d.record });
      }
      if (invalid.length > 0)
        throw discoveryError(
          'DISC_INVALID_PUSH',
          `${invalid.length} invalid record${invalid.length === 1 ? '' : 's'}: ${invalid.slice(0, 20).join('; ')}${invalid.length > 20 ? `; and ${invalid.length - 20} more` : ''}`,
        );
      for (const { type, key, record } of decoded) {
        const r = { type, key };
        const value = record;
        const { byKey, change } = typeRecords(r.type);
        const had = byKey.has(r.key);
        if (!res.full) undo.push({ type: r.type, key: r.key, had, value: byKey.get(r.key) });
        if (!had) change.structural = true;
        change.upserted.push(r.key);
        byKey.set(r.key, value);
      }
      for (const r of res.removed) {
        const { byKey, change } = typeRecords(r.type);
        if (!res.full)
          undo.push({ type: r.type, key: r.key, had: byKey.has(r.key), value: byKey.get(r.key) });
        change.structural = true;
        byKey.delete(r.key);
      }
      state = meshStateFromRecords(
        res.trustDomain,
        records,
        res.full || !this.state ? undefined : { state: this.state, touched },
      );
      await this.o.onState(state, res.versionInfo);
    } catch (err) {
      for (const u of undo.reverse()) {
        const byKey = records.get(u.type);
        if (u.had && u.value !== undefined) byKey?.set(u.key, u.value);
        else byKey?.delete(u.key);
      }
      const detail = (err as Error).message || String(err);
      this.o.logger?.warn({ version: res.versionInfo, err: detail }, 'rejected a discovery push (NACK)');
      if (this.call === call)
        call.write({ responseNonce: res.nonce, versionInfo: this.version, errorDetail: detail });
      return;
    }
    this.records = records;
    this.state = state;
    this.version = res.versionInfo;
    if (this.call === call)
      call.write({ responseNonce: res.nonce, versionInfo: res.versionInfo, errorDetail: '' });
    this.settleFirst();
  }
}
