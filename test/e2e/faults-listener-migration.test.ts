// Why the ztunnel sets net.ipv4.tcp_migrate_req=1 (ztunnel/process/listener-handoff.ts), shown on
// the real kernel in a network namespace of our own: two SO_REUSEPORT listeners made by the
// ztunnel's own reusePortListener share a port, 64 clients connect while neither accepts (so each
// listener's accept queue holds about half), then one listener is closed - as an old ztunnel does
// on SIGTERM - and the other starts accepting. With the sysctl at 0 the connections queued on the
// closed listener are reset; at 1 every one of them migrates to the remaining listener and is
// served. The probe runs from dist/ (the code under test) with nsenter, so the host's sysctl is
// never touched.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomPrefix } from '../../local-cluster/topology.js';
import { kernelTestsEnabled, repoRoot } from './kernel-env.js';

const enabled = kernelTestsEnabled();

/** The probe: prints {"served":n,"reset":n}. Argument: the dist directory. */
const PROBE = `
import net from 'node:net';
const dist = process.argv[1];
const { reusePortListener } = await import(dist + '/ztunnel/net/reuseport-socket.js');
const { lib } = await import(dist + '/ztunnel/net/libc.js');
const port = 15999, n = 64;
const closing = reusePortListener('127.0.0.1', port, 128);
const staying = reusePortListener('127.0.0.1', port, 128);
const clients = await Promise.all(Array.from({ length: n }, () => new Promise((resolve) => {
  const s = net.connect(port, '127.0.0.1', () => resolve(s));
  s.on('error', () => undefined);
})));
lib().close(closing);
const server = net.createServer((c) => { c.on('error', () => undefined); c.end('x'); });
server.listen({ fd: staying });
const outcomes = await Promise.all(clients.map((s) => new Promise((resolve) => {
  let got = '';
  const timer = setTimeout(() => resolve('hung'), 3000);
  s.on('data', (d) => { got += d; });
  s.on('close', () => { clearTimeout(timer); resolve(got === 'x' ? 'served' : 'reset'); });
  s.write('hi');
})));
console.log(JSON.stringify({
  served: outcomes.filter((o) => o === 'served').length,
  reset: outcomes.filter((o) => o === 'reset').length,
  hung: outcomes.filter((o) => o === 'hung').length,
}));
process.exit(0);
`;

describe.skipIf(!enabled)('tcp_migrate_req: what a closing SO_REUSEPORT listener does to its queue', () => {
  const netns = `${randomPrefix()}mig`;
  const inNs = (argv: string[]): string =>
    execFileSync('nsenter', [`--net=/run/netns/${netns}`, '--', ...argv], { encoding: 'utf8' });
  const probe = (migrate: 0 | 1): { served: number; reset: number; hung: number } => {
    inNs(['sysctl', '-q', '-w', `net.ipv4.tcp_migrate_req=${migrate}`]);
    const out = inNs([process.execPath, '--input-type=module', '-e', PROBE, path.join(repoRoot, 'dist')]);
    return JSON.parse(out.trim().split('\n').pop() ?? '{}') as {
      served: number;
      reset: number;
      hung: number;
    };
  };

  beforeAll(() => {
    execFileSync('ip', ['netns', 'add', netns]);
    execFileSync('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
  });

  afterAll(() => {
    execFileSync('ip', ['netns', 'del', netns]);
  });

  it('resets the queued connections at 0 and hands every one to the other listener at 1', () => {
    const off = probe(0);
    const on = probe(1);
    console.log(`AMBIT_MIGRATE_REQ ${JSON.stringify({ off, on })}`);
    expect(off.reset).toBeGreaterThan(0);
    expect(off.served + off.reset + off.hung).toBe(64);
    expect(on).toEqual({ served: 64, reset: 0, hung: 0 });
  });
});
