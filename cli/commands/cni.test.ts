// `ambit cni gate` as the kubelet's CNI chain would run it (the built CLI, dist/ from the global
// setup) against a pod gate socket served in this process by a fake agent: exit 1 with a one-line
// cause while the agent has no plan or no agent listens, exit 0 once the pod's capture is in
// place, `--wait` asking again until it is; bad flags named in one line.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATTACH_KINDS } from '../../agent/attach-kinds.js';
import { podGateSocketPath } from '../../agent/pod-gate-protocol.js';
import { PodGateServer } from '../../agent/pod-gate-server.js';
import { PodGate, gatePlanFrom, type GatePlan } from '../../agent/pod-gate.js';
import { repoRoot } from '../../local-cluster/repo-root.js';

const CG = '/sys/fs/cgroup/kubepods.slice/kubepods-podabc.slice';

/** Runs the CLI without blocking this process's event loop (the server answers meanwhile). */
function cli(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(repoRoot(), 'bin/ambit.js'), ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

describe('ambit cni gate', () => {
  let dir = '';
  let server: PodGateServer | undefined;
  const plan: { current: GatePlan | undefined } = { current: undefined };
  const gate = (...more: string[]) =>
    cli('cni', 'gate', '--state-dir', dir, '--node', 'node-1', '--pod', 'shop/cart', ...more);

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'ambit-cni-'));
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('--help lists its flags', async () => {
    const r = await cli('cni', 'gate', '--help');
    expect(r.status).toBe(0);
    for (const f of ['--pod', '--node', '--state-dir', '--wait']) expect(r.stdout).toContain(f);
  });

  it('no agent: exit 1, one line naming the socket', async () => {
    const r = await gate();
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(
      /^ambit: AG_GATE_NOT_READY: agent-unreachable: no agent answers on .*agent-node-1\.gate\.sock/,
    );
  });

  it('agent up, no plan yet: exit 1; once the plan is in place: exit 0', async () => {
    server = await PodGateServer.listen({
      socketPath: podGateSocketPath(dir, 'node-1'),
      gate: new PodGate({
        gatePlan: () => plan.current,
        cgroupFacts: () => Promise.resolve({ exists: true, attached: new Set(ATTACH_KINDS) }),
        reconcileNow: () => Promise.resolve(),
      }),
      logger: pino({ level: 'silent' }),
    });
    const early = await gate();
    expect(early.status).toBe(1);
    expect(early.stderr).toMatch(/AG_GATE_NOT_READY: no-plan: the agent has applied no plan yet/);
    // --wait: the plan arrives while the CLI keeps asking
    setTimeout(() => (plan.current = gatePlanFrom('restore', new Map([[CG, 'shop/cart']]), [])), 500);
    const waited = await gate('--wait', '10s');
    expect(waited.stderr).toBe('');
    expect(waited.status).toBe(0);
    expect(waited.stdout).toMatch(
      /^shop\/cart: capture in place \(.*kubepods-podabc\.slice, from the restore cache\)/,
    );
  });

  it.each([
    [['--pod', 'no-slash'], /CLI_BAD_FLAG: --pod: expected <namespace>\/<name>, got no-slash/],
    [['--pod', 'a/b', '--wait', 'soon'], /CLI_BAD_FLAG: --wait: expected a duration/],
    [['--pod', 'a/b', '--node', '../x'], /AG_GATE: node name "..\/x" is not a DNS subdomain/],
  ])('%j fails in one line naming the flag', async (args, want) => {
    const r = await cli('cni', 'gate', '--state-dir', dir, '--node', 'node-1', ...args);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(want);
  });
});
