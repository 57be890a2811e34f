// A LeaderGate a test sets by hand: the leader-only tasks (status writes, waypoint Deployments,
// node taints) are tested without a Lease, and leadership moves when the test says so.
import type { LeaderGate } from './leader-election.js';

export class ManualLeaderGate implements LeaderGate {
  private readonly fns = new Set<(leader: boolean) => void>();

  constructor(private leading = false) {}

  isLeader(): boolean {
    return this.leading;
  }

  onChange(fn: (leader: boolean) => void): () => void {
    this.fns.add(fn);
    return () => this.fns.delete(fn);
  }

  /** Gains or loses leadership, telling every listener. */
  set(leading: boolean): void {
    this.leading = leading;
    for (const fn of this.fns) fn(leading);
  }
}
