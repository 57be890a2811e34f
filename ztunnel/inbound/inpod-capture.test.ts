// InpodCapture without the kernel: which pods get an in-pod listener, retries while a pod's netns
// is not found, release on removal and stop, and that an accepted connection's original destination
// is its own local address. The "kernel" hands out real loopback listeners (SO_REUSEPORT sockets
// made with koffi, no privilege needed) so the adoption path is the real one.
import net from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { emptyMeshState, type Workload } from '../../core/model/mesh.js';
import { SnapshotWatch } from '../state/snapshot-watch.js';
import { buildSnapshot, type ZtunnelSnapshot } from '../state/ztunnel-snapshot.js';
import { node, workload } from '../state/mesh-fixture.js';
import { reusePortListener } from '../net/reuseport-socket.js';
import { capturedPods, InpodCapture, type InpodKernel } from './inpod-capture.js';
import type { OriginalDestinationResolver } from '../outbound/original-destination.js';

const OWN = '/proc/self/ns/net';

function snapshotOf(workloads: Workload[]): ZtunnelSnapshot {
  return buildSnapshot(
    {
      ...emptyMeshState('cluster.local'),
      nodes: [node('n1', '10.0.0.1'), node('n2', '10.0.0.2')],
      workloads,
    },
    'v1',
  );
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const a = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  if (!a || typeof a === 'string') throw new Error('no port');
  return a.port;
}

class FakeKernel implements InpodKernel {
  readonly opened: string[] = [];
  readonly undone: string[] = [];
  readonly ports = new Map<string, number>();
  closed = false;
  constructor(private readonly port: () => number) {}
  readonly ips6: string[][] = [];
  open(podIp: string, _netns: string, podIps6: readonly string[]): { listenerFds: number[]; undo(): void } {
    const port = this.port();
    this.ports.set(podIp, port);
    this.opened.push(podIp);
    this.ips6.push([...podIps6]);
    return { listenerFds: [reusePortListener('127.0.0.1', port)], undo: () => this.undone.push(podIp) };
  }
  close(): void {
    this.closed = true;
  }
}

const stops: (() => void)[] = [];
afterEach(() => {
  for (const s of stops.splice(0)) s();
});

describe('capturedPods', () => {
  it('keeps enrolled, live pods of this node with an IPv4 address, keyed by that address', () => {
    const snap = snapshotOf([
      workload({ name: 'a', ip: '10.1.0.5', node: 'n1' }),
      workload({ name: 'other-node', ip: '10.2.0.5', node: 'n2' }),
      workload({ name: 'plain', ip: '10.1.0.6', node: 'n1', enrolled: false }),
      workload({ name: 'going', ip: '10.1.0.7', node: 'n1', terminating: true }),
      workload({ name: 'v6only', ip: 'fd00::8', node: 'n1' }),
      workload({ name: 'dual', ip: 'fd00::9', ips: ['fd00::9', '10.1.0.9'], node: 'n1' }),
    ]);
    expect([...capturedPods(snap, 'n1').keys()].sort()).toEqual(['10.1.0.5', '10.1.0.9']);
  });
});

describe('InpodCapture', () => {
  it('opens a listener per captured pod, retries a pod without a netns, releases on removal and stop', async () => {
    const ports = await Promise.all([freePort(), freePort(), freePort()]);
    let next = 0;
    const kernel = new FakeKernel(() => ports[next++] ?? 0);
    const snapshots = new SnapshotWatch<ZtunnelSnapshot>();
    const timers: (() => void)[] = [];
    const netnsOf = new Map<string, string>([['a', OWN]]);
    const capture = new InpodCapture({
      node: 'n1',
      snapshots,
      logger: pino({ level: 'silent' }),
      handle: (s) => s.destroy(),
      kernel,
      findNetns: (w) => netnsOf.get(w.name),
      setTimer: (fn) => {
        timers.push(fn);
        return {};
      },
      clearTimer: () => undefined,
    });
    stops.push(() => capture.stop());
    const a = workload({ name: 'a', ip: '10.1.0.5', node: 'n1' });
    const b = workload({ name: 'b', ip: '10.1.0.6', ips: ['10.1.0.6', 'FD00:0::6'], node: 'n1' });
    snapshots.set(snapshotOf([a, b]));
    capture.start();
    expect(capture.captured()).toEqual(['10.1.0.5']);
    expect(timers).toHaveLength(1); // b has no process yet: one retry scheduled, not one per pod

    netnsOf.set('b', OWN);
    timers.shift()?.();
    expect(capture.captured()).toEqual(['10.1.0.5', '10.1.0.6']);
    expect(kernel.ips6).toEqual([[], ['fd00::6']]); // a dual-stack pod's IPv6 addresses, canonical
    expect(timers).toHaveLength(0);

    snapshots.set(snapshotOf([b]));
    expect(capture.captured()).toEqual(['10.1.0.6']);
    expect(kernel.undone).toEqual(['10.1.0.5']);

    capture.stop();
    expect(capture.captured()).toEqual([]);
    expect(kernel.undone).toEqual(['10.1.0.5', '10.1.0.6']);
    expect(kernel.closed).toBe(true);
  });

  it('hands accepted connections over with their own local address as the original destination', async () => {
    const port = await freePort();
    const kernel = new FakeKernel(() => port);
    const snapshots = new SnapshotWatch<ZtunnelSnapshot>();
    const seen: ({ ip: string; port: number } | undefined)[] = [];
    const capture = new InpodCapture({
      node: 'n1',
      snapshots,
      logger: pino({ level: 'silent' }),
      handle: (s, r: OriginalDestinationResolver) => {
        seen.push(r.resolve({ sourceIp: s.remoteAddress ?? '', sourcePort: s.remotePort ?? 0 }));
        s.destroy();
      },
      kernel,
      findNetns: () => OWN,
    });
    stops.push(() => capture.stop());
    snapshots.set(snapshotOf([workload({ name: 'a', ip: '10.1.0.5', node: 'n1' })]));
    capture.start();
    await new Promise<void>((resolve, reject) => {
      const c = net.connect(port, '127.0.0.1');
      c.on('error', reject);
      c.on('close', () => resolve());
    });
    expect(seen).toEqual([{ ip: '127.0.0.1', port }]);
  });
});
