// `ambit demo` as a user runs it: the real CLI builds the cluster, shows mesh traffic with
// mTLS in a table and the waypoint's canary split and retry, and leaves nothing behind (also with --keep stopped by Ctrl-C); not root, it
// exits non-zero with one line naming the cause.
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { cleanupStale, leftovers } from '../../local-cluster/cleanup.js';
import { kernelTestsEnabled, repoRoot, until } from './kernel-env.js';

const execFileAsync = promisify(execFile);
const enabled = kernelTestsEnabled();
const cli = path.join(repoRoot, 'dist', 'cli', 'main.js');
const prefixOf = (stderr: string): string => /network namespaces (amb[a-z0-9]{4}-)/.exec(stderr)?.[1] ?? '';

describe.skipIf(!enabled)('ambit demo', () => {
  it('runs the mesh, prints a table with mTLS and the L7 canary split and retry, and leaves nothing behind', async () => {
    const r = await execFileAsync(process.execPath, [cli, 'demo'], { cwd: repoRoot, timeout: 180_000 });
    const prefix = prefixOf(r.stderr);
    expect(prefix).not.toBe('');
    try {
      expect(r.stdout).toContain('source identity');
      expect(r.stdout).not.toContain('<-- expected');
      const rows = r.stdout.split('\n').filter((l) => l.startsWith('demo/client-'));
      expect(rows.length).toBeGreaterThanOrEqual(3);
      expect(rows.every((l) => / yes /.test(l))).toBe(true);
      expect(rows.filter((l) => l.trimEnd().endsWith('DENY'))).toHaveLength(1); // the demo's L4 policy
      // the waypoint: a 90/10 split (checked by the demo itself: no '<-- expected') and a retry
      expect(r.stdout).toMatch(/canary split, server 90\/10 between v1 and v2: v1 \d+, v2 \d+ of 200/);
      expect(r.stdout).toMatch(/via Service flaky with retry \(3 attempts on 503\): \d+\/200 ok/);
      expect(r.stdout).toContain('istio_requests_total{reporter="waypoint"}');
      expect(leftovers(prefix)).toEqual([]);
    } finally {
      await cleanupStale(prefix);
    }
  });

  it('--keep stays up until Ctrl-C, then tears down', async () => {
    const child = spawn(process.execPath, [cli, 'demo', '--keep'], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    let prefix = '';
    try {
      await until(
        'the demo to say it keeps running',
        () => out.includes('keeps running') || undefined,
        180_000,
        100,
      );
      prefix = prefixOf(err);
      expect(leftovers(prefix).length).toBeGreaterThan(0);
      child.kill('SIGINT');
      await exited;
      expect(leftovers(prefix)).toEqual([]);
    } finally {
      child.kill('SIGKILL');
      if (prefix) await cleanupStale(prefix);
    }
  });

  it('not root: exits non-zero with one line naming the cause', async () => {
    const r = await execFileAsync(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, cli, 'demo'],
      {
        cwd: repoRoot,
      },
    ).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('LC_NOT_ROOT');
  });
});
