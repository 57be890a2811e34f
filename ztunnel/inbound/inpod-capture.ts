// PERMISSIVE capture (DESIGN §5, docs/kernel.md "PERMISSIVE capture"): for every enrolled pod of
// this node the ztunnel holds one listening socket inside the pod's network namespace (made with
// setns, ztunnel/net/netns-listener.ts), puts it in the pinned SOCKHASH ambit_inpod_listener under
// the pod's IPv4, and links the agent's pinned sk_lookup program to that netns. Plaintext SYNs to
// a PERMISSIVE pod from anywhere but the mesh address and the node's own addresses then land on
// this socket; the accepted socket's local address is the original destination, and the
// connection takes the ordinary 15006 path (InboundProxy.handlePlaintext: L4 authorization,
// telemetry, forwarded to the pod from the mesh address).
//
// The link fd is held by this process, never pinned: when the ztunnel exits the kernel detaches
// it, and plaintext reaches the pod directly again (fail open, as with no listener in the map),
// so a dead ztunnel can never blackhole a PERMISSIVE pod. Pods whose netns cannot be found yet
// (no process in their cgroup) or a node whose programs are not pinned yet are retried.
import net, { type Socket } from 'node:net';
import { closeSync, openSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Workload } from '../../core/model/mesh.js';
import type { SnapshotWatch } from '../state/snapshot-watch.js';
import type { ZtunnelSnapshot } from '../state/ztunnel-snapshot.js';
import { PinnedMap } from '../../core/bpf-maps/pinned-map.js';
import { INPOD_LISTENER6_MAP, INPOD_LISTENER_MAP } from '../../core/bpf-maps/map-codecs.js';
import { canonicalIpv6 } from '../../core/bpf-maps/ipv6.js';
import { attachSkLookup, closeFd, openSkLookupProgram } from '../../core/bpf-maps/netns-link.js';
import { listenInNetns, netnsInode, OWN_NETNS } from '../net/netns-listener.js';
import { findPodNetns, type PodNetnsFinder } from './pod-netns.js';
import { findCgroup2Root } from '../../agent/cgroup-root.js';
import { normalizeAddress } from '../net/peer-address.js';
import type { OriginalDestinationResolver } from '../outbound/original-destination.js';

/** Where the in-pod listener binds inside the pod: loopback, a port the kernel picks (no clash with the app). */
export const INPOD_LISTEN_ADDRESS = '127.0.0.1';
/** The IPv6 twin for a dual-stack pod (an IPv6 lookup can only be given an IPv6 socket). */
export const INPOD_LISTEN_ADDRESS6 = '::1';

/** The kernel side of one pod's capture, injectable for unit tests. */
export interface InpodKernel {
  /**
   * Listener fds in the pod's netns (IPv4, plus IPv6 when the pod has IPv6 addresses), entered in
   * the maps, sk_lookup linked; returns them and how to undo the link.
   */
  open(podIp: string, netnsPath: string, podIps6: readonly string[]): { listenerFds: number[]; undo(): void };
  close(): void;
}

export class BpfInpodKernel implements InpodKernel {
  private prog: number | undefined;
  private map: PinnedMap<string, bigint> | undefined;
  private map6: PinnedMap<string, bigint> | undefined;
  private readonly ownIno = netnsInode(OWN_NETNS);

  constructor(private readonly node: string) {}

  open(
    podIp: string,
    netnsPath: string,
    podIps6: readonly string[],
  ): { listenerFds: number[]; undo(): void } {
    this.prog ??= openSkLookupProgram(this.node);
    this.map ??= PinnedMap.open(this.node, INPOD_LISTENER_MAP);
    if (podIps6.length > 0) this.map6 ??= PinnedMap.open(this.node, INPOD_LISTENER6_MAP);
    const map = this.map;
    const map6 = this.map6;
    const what = `the netns of pod ${podIp} (${netnsPath})`;
    if (netnsInode(netnsPath) === this.ownIno)
      throw new Error(`${what} is the ztunnel's own network namespace (a host-network pod): not captured`);
    const nsFd = openSync(netnsPath, 'r');
    let listenerFd = -1;
    let fd6 = -1;
    try {
      listenerFd = listenInNetns(nsFd, INPOD_LISTEN_ADDRESS, 0, what);
      map.update(podIp, BigInt(listenerFd));
      if (map6 && podIps6.length > 0) {
        fd6 = listenInNetns(nsFd, INPOD_LISTEN_ADDRESS6, 0, what);
        for (const ip6 of podIps6) map6.update(ip6, BigInt(fd6));
      }
      const link = attachSkLookup(this.prog, nsFd, what);
      // Not deleted from the map on undo: closing the listener removes it from the SOCKHASH, and
      // an explicit delete would remove a newer ztunnel's socket during an upgrade (both processes
      // run for a while, and the newer one overwrote the entry).
      return { listenerFds: fd6 >= 0 ? [listenerFd, fd6] : [listenerFd], undo: () => closeFd(link) };
    } catch (err) {
      if (listenerFd >= 0) {
        try {
          map.delete(podIp);
        } catch {
          // not entered
        }
        closeFd(listenerFd);
      }
      if (fd6 >= 0) closeFd(fd6); // closing removes it from the SOCKHASH
      throw err;
    } finally {
      closeSync(nsFd);
    }
  }

  close(): void {
    if (this.prog !== undefined) closeFd(this.prog);
    this.prog = undefined;
    this.map?.close();
    this.map = undefined;
    this.map6?.close();
    this.map6 = undefined;
  }
}

/** The original destination of an in-pod capture: the accepted socket's own local address. */
export function localAddressResolver(s: Socket): OriginalDestinationResolver {
  return {
    resolve: () =>
      s.localAddress && s.localPort ? { ip: normalizeAddress(s.localAddress), port: s.localPort } : undefined,
    close: () => undefined,
  };
}

/** Pods of `node` that get an in-pod listener: enrolled, not terminating, with an IPv4 address. */
export function capturedPods(snap: ZtunnelSnapshot, node: string): Map<string, Workload> {
  const out = new Map<string, Workload>();
  for (const w of snap.state.workloads) {
    if (w.node !== node || !w.enrolled || w.terminating) continue;
    const ip = w.ips.find((a) => net.isIPv4(a));
    if (ip && !out.has(ip)) out.set(ip, w);
  }
  return out;
}

export interface InpodCaptureOptions {
  node: string;
  snapshots: SnapshotWatch<ZtunnelSnapshot>;
  /** What to do with an accepted plaintext connection (InboundProxy.handlePlaintext). */
  handle: (s: Socket, resolver: OriginalDestinationResolver) => void;
  logger: Logger;
  kernel?: InpodKernel;
  findNetns?: PodNetnsFinder;
  retryMs?: number;
  setTimer?: (fn: () => void, ms: number) => { unref?: () => void };
  clearTimer?: (t: unknown) => void;
}

interface Held {
  uid: string;
  netnsIno: number;
  servers: net.Server[];
  undo(): void;
}

export class InpodCapture {
  private readonly held = new Map<string, Held>();
  private readonly kernel: InpodKernel;
  private readonly findNetns: PodNetnsFinder;
  private unsubscribe: (() => void) | undefined;
  private retry: unknown;
  private stopped = false;
  /** Last failure per pod IP, so a pod that keeps failing is logged once per cause. */
  private readonly lastError = new Map<string, string>();

  constructor(private readonly o: InpodCaptureOptions) {
    this.kernel = o.kernel ?? new BpfInpodKernel(o.node);
    // the cgroup v2 mount point is read from mountinfo once, not at every lookup (every pod, every
    // snapshot and every retry second)
    let cgroupRoot: string | undefined;
    this.findNetns = o.findNetns ?? ((w) => findPodNetns(w, (cgroupRoot ??= findCgroup2Root())));
  }

  start(): void {
    this.unsubscribe = this.o.snapshots.subscribe(() => this.sync());
    this.sync();
  }

  /** IPv4 addresses of the pods captured now. */
  captured(): string[] {
    return [...this.held.keys()].sort();
  }

  sync(): void {
    if (this.stopped) return;
    const snap = this.o.snapshots.get();
    const want = snap ? capturedPods(snap, this.o.node) : new Map<string, Workload>();
    for (const [ip, h] of this.held) {
      const w = want.get(ip);
      if (!w || w.uid !== h.uid || this.netnsChanged(w, h)) this.release(ip, h);
    }
    let pending = 0;
    for (const [ip, w] of want) {
      if (this.held.has(ip)) continue;
      if (!this.acquire(ip, w)) pending++;
    }
    this.scheduleRetry(pending > 0);
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.retry !== undefined) (this.o.clearTimer ?? clearTimeout)(this.retry as NodeJS.Timeout);
    this.retry = undefined;
    for (const [ip, h] of this.held) this.release(ip, h);
    this.kernel.close();
  }

  private netnsChanged(w: Workload, h: Held): boolean {
    const p = this.findNetns(w);
    if (!p) return false; // no process right now: keep what we have until the pod is gone
    try {
      return netnsInode(p) !== h.netnsIno;
    } catch {
      return false;
    }
  }

  private acquire(ip: string, w: Workload): boolean {
    const pod = `${w.namespace}/${w.name}`;
    try {
      const netnsPath = this.findNetns(w);
      if (!netnsPath) throw new Error('no process of the pod found in its cgroup yet');
      const netnsIno = netnsInode(netnsPath);
      const ips6 = w.ips.filter((a) => net.isIPv6(a)).map(canonicalIpv6);
      const k = this.kernel.open(ip, netnsPath, ips6);
      const servers = k.listenerFds.map((fd) => {
        const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s) =>
          this.o.handle(s, localAddressResolver(s)),
        );
        server.on('error', (err) =>
          this.o.logger.error({ pod, ip, err: err.message }, 'in-pod listener error'),
        );
        server.listen({ fd });
        return server;
      });
      this.held.set(ip, { uid: w.uid, netnsIno, servers, undo: k.undo });
      this.lastError.delete(ip);
      this.o.logger.info(
        { pod, ip, ...(ips6.length > 0 ? { ips6 } : {}) },
        'PERMISSIVE capture in place (in-pod listener, sk_lookup linked)',
      );
      return true;
    } catch (err) {
      const msg = (err as Error).message;
      if (this.lastError.get(ip) !== msg) {
        this.lastError.set(ip, msg);
        this.o.logger.warn({ pod, ip, err: msg }, 'PERMISSIVE capture not in place yet; retrying');
      }
      return false;
    }
  }

  private release(ip: string, h: Held): void {
    this.held.delete(ip);
    h.undo();
    for (const s of h.servers) s.close();
    this.o.logger.info({ ip }, 'PERMISSIVE capture removed');
  }

  private scheduleRetry(needed: boolean): void {
    if (!needed || this.retry !== undefined || this.stopped) return;
    const t = (this.o.setTimer ?? setTimeout)(() => {
      this.retry = undefined;
      this.sync();
    }, this.o.retryMs ?? 1000);
    t.unref?.();
    this.retry = t;
  }
}
