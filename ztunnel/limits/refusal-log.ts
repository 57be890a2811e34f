// Rate-limits a log line per peer: the first refusal from a peer in each interval is logged (with
// how many were suppressed since the last line), the rest only counted by the caller. Bounded: past
// maxPeers tracked peers the table starts over. Injected clock.

export interface RefusalVerdict {
  log: boolean;
  /** Refusals from this peer not logged since its previous line. */
  suppressed: number;
}

export class RefusalLog {
  private readonly peers = new Map<string, { loggedAt: number; suppressed: number }>();

  constructor(
    private readonly intervalMs = 60_000,
    private readonly now: () => number = Date.now,
    private readonly maxPeers = 10_000,
  ) {}

  refused(peer: string): RefusalVerdict {
    const t = this.now();
    const p = this.peers.get(peer);
    if (p && t - p.loggedAt < this.intervalMs) {
      p.suppressed++;
      return { log: false, suppressed: p.suppressed };
    }
    if (!p && this.peers.size >= this.maxPeers) this.peers.clear();
    const suppressed = p?.suppressed ?? 0;
    this.peers.set(peer, { loggedAt: t, suppressed: 0 });
    return { log: true, suppressed };
  }
}
