// The discovery stream (AmbitDiscovery/Stream): authenticates each subscriber by its certificate
// (an agent/ztunnel presents its node's identity, a waypoint its own), opens a SubscriberSession,
// and fans every new publication out to all sessions. Keeps the last record of every subscriber
// seen, for `ambit status`.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { DiscoveryRequest, WireSubscriber } from '../core/discovery/wire-types.js';
import type { MeshPublication } from './mesh-publication.js';
import { PushEncoder } from './push-encoder.js';
import { SubscriberSession, subscriberName, type SubscriberRecord } from './subscriber-session.js';
import { identifyCaller, type Caller, type CallerCheck } from './caller-identity.js';

export interface DiscoveryServiceDeps extends CallerCheck {
  current: () => MeshPublication;
  logger: Logger;
}

/** Whether this caller may subscribe as this subscriber. Pure. */
export function authorizeSubscriber(
  s: WireSubscriber,
  caller: Caller,
  pub: MeshPublication,
): { ok: true } | { ok: false; code: grpc.status; message: string } {
  if (caller.kind !== 'certificate') {
    const why =
      caller.kind === 'anonymous'
        ? caller.reason
        : `a bootstrap token (${caller.kind}) does not open a discovery stream: obtain a certificate with it first`;
    return {
      ok: false,
      code: grpc.status.UNAUTHENTICATED,
      message: `${subscriberName(s)}: present a mesh certificate (${why})`,
    };
  }
  switch (s.kind) {
    case 'agent':
    case 'ztunnel': {
      if (!s.node)
        return {
          ok: false,
          code: grpc.status.INVALID_ARGUMENT,
          message: `${s.kind} subscriber must name its node`,
        };
      if (caller.id.kind !== 'node' || caller.id.node !== s.node) {
        return {
          ok: false,
          code: grpc.status.PERMISSION_DENIED,
          message: `${subscriberName(s)} must present node ${s.node}'s identity, not ${caller.id.uri}`,
        };
      }
      return { ok: true };
    }
    case 'waypoint': {
      const wp = pub.state.waypoints.find((w) => `${w.namespace}/${w.name}` === s.name);
      if (!wp)
        return {
          ok: false,
          code: grpc.status.NOT_FOUND,
          message: `waypoint ${s.name} does not exist in the config`,
        };
      if (wp.identity !== caller.id.uri) {
        return {
          ok: false,
          code: grpc.status.PERMISSION_DENIED,
          message: `waypoint ${s.name} must present its identity ${wp.identity ?? '(none: it has no pods)'}, not ${caller.id.uri}`,
        };
      }
      return { ok: true };
    }
    default:
      return {
        ok: false,
        code: grpc.status.INVALID_ARGUMENT,
        message: `unknown subscriber kind "${s.kind}" (agent, ztunnel, waypoint)`,
      };
  }
}

export class DiscoveryService {
  private readonly sessions = new Set<SubscriberSession>();
  private readonly records = new Map<string, SubscriberRecord>();
  private readonly encoder = new PushEncoder();
  /** Observers of ACK/NACKs (the bench and tests). */
  readonly answered = new Set<(s: SubscriberSession) => void>();
  /**
   * Observers of every subscriber connect, ACK/NACK and disconnect (status that depends on them),
   * given the subscriber whose record changed.
   */
  readonly subscriptionsChanged = new Set<(changed: SubscriberRecord) => void>();

  constructor(private readonly deps: DiscoveryServiceDeps) {}

  /** Fans the newest publication out (coalesced per session by its flow control). */
  publish(): void {
    for (const s of this.sessions) s.maybePush();
  }

  subscribers(): SubscriberRecord[] {
    return [...this.records.values()].sort((a, b) =>
      subscriberName(a.subscriber).localeCompare(subscriberName(b.subscriber)),
    );
  }

  /** The records of the streams open now: several instances of one waypoint each have their own. */
  connectedSubscribers(): SubscriberRecord[] {
    return [...this.sessions].map((s) => s.record);
  }

  closeAll(): void {
    for (const s of this.sessions) s.close();
    this.sessions.clear();
  }

  handleStream = (call: grpc.ServerDuplexStream<DiscoveryRequest, Buffer>): void => {
    let session: SubscriberSession | undefined;
    const fail = (code: grpc.status, message: string): void => {
      this.deps.logger.warn({ peer: call.getPeer(), reason: message }, 'discovery subscription refused');
      call.emit('error', { code, details: message });
    };
    call.on('data', (req: DiscoveryRequest) => {
      if (session) {
        session.onRequest(req);
        return;
      }
      const s = req.subscriber;
      if (!s || !s.kind) {
        fail(grpc.status.INVALID_ARGUMENT, 'the first request must name the subscriber');
        return;
      }
      const auth = authorizeSubscriber(s, identifyCaller(call, this.deps), this.deps.current());
      if (!auth.ok) {
        fail(auth.code, auth.message);
        return;
      }
      session = new SubscriberSession(
        { kind: s.kind, node: s.node, name: s.name },
        call.getPeer(),
        (bytes) => call.write(bytes),
        this.deps.current,
        this.encoder,
        this.deps.logger,
        (sess) => {
          this.answered.forEach((fn) => fn(sess));
          this.subscriptionsChanged.forEach((fn) => fn(sess.record));
        },
      );
      this.sessions.add(session);
      this.records.set(subscriberName(s), session.record);
      this.deps.logger.info({ subscriber: subscriberName(s), peer: call.getPeer() }, 'subscriber connected');
      const connected = session.record;
      this.subscriptionsChanged.forEach((fn) => fn(connected));
      session.maybePush();
    });
    const done = (): void => {
      if (!session) return;
      const s = session;
      session = undefined;
      s.close();
      this.sessions.delete(s);
      this.deps.logger.info({ subscriber: subscriberName(s.record.subscriber) }, 'subscriber disconnected');
      this.subscriptionsChanged.forEach((fn) => fn(s.record));
    };
    call.on('end', () => {
      done();
      call.end();
    });
    call.on('error', done);
    call.on('cancelled', done);
    call.on('close', done);
  };
}
