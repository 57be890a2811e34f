// Waypoint Gateway status (Gateway API conditions) shown by `ambit status`: Accepted once the
// config holds it; Programmed only while at least one waypoint instance is subscribed to discovery
// and has ACKed a push, and one of its pods is ready to take HBONE traffic. Pure: it reads the
// config, the mesh state and the discovery streams open now, and changes none of them.
import type { MeshState } from '../core/model/mesh.js';
import type { ConfigResources } from '../core/model/validate-config.js';
import type { SubscriberRecord } from './subscriber-session.js';
import { condition, generationOf, type StatusCondition } from './status-condition.js';

export type WaypointCondition = StatusCondition<'Accepted' | 'Programmed'>;

/** One open discovery stream of a waypoint instance, as far as its status needs. */
export interface WaypointSubscription {
  lastSentVersion?: string | undefined;
  lastAckedVersion?: string | undefined;
  lastNackVersion?: string | undefined;
  lastNackError?: string | undefined;
}

/** What the Programmed condition of one waypoint is decided from. */
export interface WaypointFacts {
  generation?: number | undefined;
  /** Pods carrying the Gateway's name label, and how many of them are ready. */
  instances: number;
  readyInstances: number;
  /** The waypoint's discovery streams open now (one per running instance). */
  subscriptions: readonly WaypointSubscription[];
}

export interface WaypointStatus {
  namespace: string;
  name: string;
  instances: number;
  readyInstances: number;
  subscribedInstances: number;
  ackedInstances: number;
  conditions: WaypointCondition[];
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** Programmed, with Gateway API's reasons (Programmed, Invalid, Pending). Pure. */
export function programmedCondition(f: WaypointFacts): WaypointCondition {
  const gen = f.generation;
  const subs = f.subscriptions;
  const pods = `${f.readyInstances}/${f.instances} waypoint pods ready`;
  if (!subs.length)
    return condition('Programmed', 'False', 'Pending', `no waypoint instance has subscribed (${pods})`, gen);
  const acked = subs.filter((s) => s.lastAckedVersion !== undefined);
  if (!acked.length) {
    const nacked = subs.filter((s) => s.lastNackVersion !== undefined);
    const nack = nacked[0];
    if (nack && nacked.length === subs.length) {
      return condition(
        'Programmed',
        'False',
        'Invalid',
        `every subscribed waypoint instance NACKed its config (${plural(subs.length, 'instance')}; version ${nack.lastNackVersion ?? ''}: ${nack.lastNackError ?? ''})`,
        gen,
      );
    }
    const sent = subs.find((s) => s.lastSentVersion !== undefined)?.lastSentVersion;
    return condition(
      'Programmed',
      'False',
      'Pending',
      sent === undefined
        ? `${plural(subs.length, 'waypoint instance')} subscribed but nothing has been pushed yet`
        : `${plural(subs.length, 'waypoint instance')} subscribed but none has ACKed version ${sent}`,
      gen,
    );
  }
  if (f.readyInstances === 0) {
    return condition(
      'Programmed',
      'False',
      'Pending',
      `${plural(acked.length, 'waypoint instance')} ACKed, but no waypoint pod is ready (${pods}): ztunnels send it nothing`,
      gen,
    );
  }
  const versions = [...new Set(acked.map((s) => s.lastAckedVersion))].join(', ');
  return condition(
    'Programmed',
    'True',
    'Programmed',
    `${acked.length} of ${plural(subs.length, 'subscribed instance')} ACKed (version ${versions}); ${pods}`,
    gen,
  );
}

/** Accepted and Programmed of one waypoint. The config holds it, so it is Accepted. Pure. */
export function waypointConditions(f: WaypointFacts): WaypointCondition[] {
  return [condition('Accepted', 'True', 'Accepted', 'Accepted', f.generation), programmedCondition(f)];
}

/**
 * Status of every waypoint: `connected` are the records of the discovery streams open now (several
 * instances of one waypoint each have their own).
 */
export function waypointStatuses(
  config: ConfigResources,
  state: MeshState,
  connected: readonly SubscriberRecord[],
): { waypoints: WaypointStatus[] } {
  return {
    waypoints: state.waypoints.map((w) => {
      const ref = `${w.namespace}/${w.name}`;
      const gw = config.Gateway.find(
        (g) => g.metadata.namespace === w.namespace && g.metadata.name === w.name,
      );
      const subscriptions = connected.filter(
        (r) => r.connected && r.subscriber.kind === 'waypoint' && r.subscriber.name === ref,
      );
      const facts: WaypointFacts = {
        generation: gw ? generationOf(gw.metadata) : undefined,
        instances: w.instances.length,
        readyInstances: w.instances.filter((i) => i.ready).length,
        subscriptions,
      };
      return {
        namespace: w.namespace,
        name: w.name,
        instances: facts.instances,
        readyInstances: facts.readyInstances,
        subscribedInstances: subscriptions.length,
        ackedInstances: subscriptions.filter((s) => s.lastAckedVersion !== undefined).length,
        conditions: waypointConditions(facts),
      };
    }),
  };
}

/**
 * Remembers each waypoint's Programmed status and reason, so the controller can log when one changes
 * (a waypoint instance subscribed, ACKed, went away; or the config changed its pods).
 */
export class ProgrammedTransitions {
  private readonly last = new Map<string, string>();

  /** The waypoints whose Programmed status or reason differs from the previous call (or is new). */
  observe(waypoints: readonly WaypointStatus[]): WaypointStatus[] {
    const changed: WaypointStatus[] = [];
    const seen = new Set<string>();
    for (const w of waypoints) {
      const key = `${w.namespace}/${w.name}`;
      const p = w.conditions.find((c) => c.type === 'Programmed');
      const now = p ? `${p.status}/${p.reason}` : '';
      seen.add(key);
      if (this.last.get(key) !== now) changed.push(w);
      this.last.set(key, now);
    }
    for (const key of [...this.last.keys()]) if (!seen.has(key)) this.last.delete(key);
    return changed;
  }
}
