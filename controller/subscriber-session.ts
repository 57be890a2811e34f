// One subscriber's discovery stream: what it has applied (its last ACKed view, as viewFor cuts the
// mesh for its kind), the push in flight, and the flow control that coalesces changes (at most one
// push in flight; when it is answered, the newest state follows as one delta of its view). A NACKed version is not re-sent; the next
// config change is sent as a delta from the last ACKed view.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { ResourceView } from '../core/discovery/mesh-resources.js';
import type { MeshSubscriber } from '../core/discovery/view-for.js';
import type { DiscoveryRequest, WireSubscriber } from '../core/discovery/wire-types.js';
import type { MeshPublication } from './mesh-publication.js';
import type { PushEncoder } from './push-encoder.js';

export interface SubscriberRecord {
  subscriber: WireSubscriber;
  peer: string;
  connected: boolean;
  connectedAt: string;
  disconnectedAt?: string;
  lastSentVersion?: string;
  lastAckedVersion?: string;
  lastAckAt?: string;
  lastNackVersion?: string;
  lastNackError?: string;
  lastNackAt?: string;
}

export function subscriberName(s: WireSubscriber): string {
  // A node's ztunnel with --workers has one stream per worker, each naming itself.
  if (s.kind === 'waypoint') return `waypoint ${s.name}`;
  return s.name ? `${s.kind} ${s.node} ${s.name}` : `${s.kind} ${s.node}`;
}

/** The subscriber whose view a stream receives; undefined for a kind viewFor does not know. */
export function meshSubscriberOf(s: WireSubscriber): MeshSubscriber | undefined {
  switch (s.kind) {
    case 'agent':
    case 'ztunnel':
      return { kind: s.kind, node: s.node };
    case 'waypoint':
      return { kind: 'waypoint', name: s.name };
    default:
      return undefined;
  }
}

export class SubscriberSession {
  readonly record: SubscriberRecord;
  private readonly subscriber: MeshSubscriber;
  private acked: ResourceView | undefined;
  private inflight: { nonce: string; version: string; view: ResourceView } | undefined;
  private rejectedVersion: string | undefined;
  private closed = false;

  constructor(
    subscriber: WireSubscriber,
    peer: string,
    private readonly write: (bytes: Buffer) => void,
    private readonly current: () => MeshPublication,
    private readonly encoder: PushEncoder,
    private readonly logger: Logger,
    /** Called after every ACK/NACK (tests and status hooks). */
    private readonly onAnswer?: (s: SubscriberSession) => void,
  ) {
    this.record = { subscriber, peer, connected: true, connectedAt: new Date().toISOString() };
    const s = meshSubscriberOf(subscriber);
    // the discovery service refuses unknown kinds before opening a session (authorizeSubscriber)
    if (!s) throw new Error(`no view for subscriber kind "${subscriber.kind}"`);
    this.subscriber = s;
  }

  /** Sends the newest state unless a push is in flight (then it follows the answer). */
  maybePush(): void {
    if (this.closed || this.inflight) return;
    const pub = this.current();
    const { view } = pub.viewOf(this.subscriber);
    if (view === this.acked || pub.version === this.rejectedVersion) return;
    const push = this.encoder.encode(pub, view, this.acked);
    const nonce = randomUUID();
    this.inflight = { nonce, version: pub.version, view };
    this.record.lastSentVersion = pub.version;
    this.logger.debug(
      {
        subscriber: subscriberName(this.record.subscriber),
        version: pub.version,
        full: push.full,
        upserts: push.upserts,
        removals: push.removals,
        bytes: push.body.length,
      },
      'push',
    );
    this.write(this.encoder.withNonce(push, nonce));
  }

  onRequest(req: DiscoveryRequest): void {
    if (!this.inflight || req.responseNonce !== this.inflight.nonce) return; // stale answer
    const sent = this.inflight;
    this.inflight = undefined;
    const now = new Date().toISOString();
    if (req.errorDetail) {
      this.rejectedVersion = sent.version;
      Object.assign(this.record, {
        lastNackVersion: sent.version,
        lastNackError: req.errorDetail,
        lastNackAt: now,
      });
      this.logger.warn(
        { subscriber: subscriberName(this.record.subscriber), version: sent.version, error: req.errorDetail },
        'subscriber NACKed a push; it keeps its last applied state',
      );
    } else {
      this.acked = sent.view;
      this.rejectedVersion = undefined;
      Object.assign(this.record, { lastAckedVersion: sent.version, lastAckAt: now });
    }
    this.onAnswer?.(this);
    this.maybePush();
  }

  close(): void {
    this.closed = true;
    this.record.connected = false;
    this.record.disconnectedAt = new Date().toISOString();
  }
}
