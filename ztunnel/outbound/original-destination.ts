// Where a captured connection was going. The kernel (bpf/ connect4 + sockops) records it in a
// pinned map keyed by the 4-tuple the ztunnel sees; the production resolver reads it with one
// bpf() syscall through core/bpf-maps. Opened lazily and retried (at most once a second) while
// the node agent has not pinned the maps yet. Tests inject other resolvers.
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { ztError } from '../errors.js';
import {
  openOriginalDestinationMap,
  type OriginalDestinationMap,
} from '../../core/bpf-maps/original-destination.js';

export interface ConnectionSource {
  sourceIp: string;
  sourcePort: number;
}

export interface OriginalDestinationResolver {
  resolve(c: ConnectionSource): { ip: string; port: number } | undefined;
  close(): void;
}

export const MAP_RETRY_MS = 1000;

export class BpfOriginalDestinationResolver implements OriginalDestinationResolver {
  private map: OriginalDestinationMap | undefined;
  private lastAttempt = -Infinity;

  constructor(
    private readonly node: string,
    private readonly logger?: Logger,
    private readonly open: (node: string) => OriginalDestinationMap = openOriginalDestinationMap,
    private readonly now: () => number = Date.now,
  ) {}

  resolve(c: ConnectionSource): { ip: string; port: number } | undefined {
    const map = this.ensure();
    if (!map) return undefined;
    const r = map.lookup(c.sourceIp, c.sourcePort);
    return r ? { ip: r.ip, port: r.port } : undefined;
  }

  close(): void {
    this.map?.close();
    this.map = undefined;
  }

  private ensure(): OriginalDestinationMap | undefined {
    if (this.map) return this.map;
    const t = this.now();
    if (t - this.lastAttempt < MAP_RETRY_MS) return undefined;
    this.lastAttempt = t;
    try {
      this.map = this.open(this.node);
      this.logger?.info({ node: this.node }, 'original-destination map opened');
    } catch (err) {
      this.logger?.warn(
        { node: this.node, err: (err as Error).message },
        'original-destination map not available yet',
      );
    }
    return this.map;
  }
}

/** A fixed table, for tests and the SOCKS5-less benches: `srcIp:srcPort` -> destination. */
export class StaticOriginalDestinations implements OriginalDestinationResolver {
  readonly table = new Map<string, { ip: string; port: number }>();
  resolve(c: ConnectionSource) {
    return this.table.get(`${c.sourceIp}:${c.sourcePort}`);
  }
  close(): void {}
}

/**
 * Original destinations fixed per source IP (`--original-destination-map 10.0.0.5=10.0.1.7:8080,...`):
 * stands in for the kernel redirect where there is none (benchmarks, tests), so captured
 * connections take the real 15001 path. Not for production: every connection from a source goes
 * to the same place.
 */
export class StaticBySourceResolver implements OriginalDestinationResolver {
  constructor(readonly table: ReadonlyMap<string, { ip: string; port: number }>) {}
  static parse(spec: string): StaticBySourceResolver {
    const table = new Map<string, { ip: string; port: number }>();
    for (const item of spec.split(',').filter(Boolean)) {
      const [, src = '', dstRaw = '', portText = ''] = /^([^=]+)=(.+):(\d+)$/.exec(item.trim()) ?? [];
      const dst = dstRaw.replace(/^\[|\]$/g, '');
      const port = Number(portText);
      if (!isIP(src) || !isIP(dst) || port < 1 || port > 65535)
        throw ztError(
          'ZT_BAD_FLAG',
          `--original-destination-map: bad entry ${item} (want SRC_IP=DST_IP:PORT)`,
        );
      table.set(src, { ip: dst, port });
    }
    return new StaticBySourceResolver(table);
  }
  resolve(c: ConnectionSource) {
    return this.table.get(c.sourceIp);
  }
  close(): void {}
}
