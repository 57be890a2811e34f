// What lets a new ztunnel take over from a running one with no connection refused (issue 11,
// "upgraded with SIGTERM"): every listener is a SO_REUSEPORT socket (net/reuseport-socket.ts), so
// the new process binds the same ports beside the old one; the old one, on SIGTERM, closes its
// listeners at once and drains what it holds up to a drain limit, then exits. Closing a
// SO_REUSEPORT listener would reset the connections still waiting in its accept queue;
// net.ipv4.tcp_migrate_req=1 (Linux >= 5.14, per network namespace) makes the kernel move them to
// another listener of the group instead. This file owns that sysctl and the drain limit; the
// listeners and the drain itself are ztunnel.ts's.
import { readFileSync, writeFileSync } from 'node:fs';
import type { Logger } from 'pino';

/** How long a SIGTERMed ztunnel lets established connections run before it exits. */
export const DEFAULT_DRAIN_LIMIT_MS = 5_000;

export const MIGRATE_REQ_SYSCTL = '/proc/sys/net/ipv4/tcp_migrate_req';

export type MigrateReqResult =
  { kind: 'already' } | { kind: 'set' } | { kind: 'unavailable'; reason: string };

/**
 * Sets net.ipv4.tcp_migrate_req=1 in this process's network namespace (the node's: the ztunnel
 * runs there). The ztunnel sets it, not the agent, because it is the ztunnel's listeners that
 * need it and the ztunnel is what is being upgraded: it must hold before the first handoff even
 * on a node whose agent is older or down. Needs CAP_NET_ADMIN over the namespace and a writable
 * /proc/sys (root on a host; not the DaemonSet's ztunnel container, where the node sets it).
 * Without it a handoff still works, but connections caught in the old listener's accept queue at
 * the moment it closes are reset: warned once, not fatal.
 */
export function enableRequestMigration(
  logger: Logger,
  file = MIGRATE_REQ_SYSCTL,
  fs: { read: (f: string) => string; write: (f: string, v: string) => void } = {
    read: (f) => readFileSync(f, 'utf8'),
    write: (f, v) => writeFileSync(f, v),
  },
): MigrateReqResult {
  let current: string;
  try {
    current = fs.read(file).trim();
  } catch (err) {
    const reason = `${file} is missing (kernel older than 5.14?): ${(err as Error).message}`;
    logger.warn(
      { reason },
      'tcp_migrate_req unavailable: an upgrade resets connections queued on the old listeners',
    );
    return { kind: 'unavailable', reason };
  }
  if (current === '1') return { kind: 'already' };
  try {
    fs.write(file, '1');
  } catch (err) {
    const reason = `cannot write ${file} (needs CAP_NET_ADMIN): ${(err as Error).message}`;
    logger.warn(
      { reason },
      'tcp_migrate_req unavailable: an upgrade resets connections queued on the old listeners',
    );
    return { kind: 'unavailable', reason };
  }
  logger.info(
    { sysctl: 'net.ipv4.tcp_migrate_req', value: 1 },
    'queued connections migrate to the next listener on handoff',
  );
  return { kind: 'set' };
}
