// The agent's log lines through the real CLI: AMBIT_LOG_LEVEL sets the level (info by default),
// an unknown level fails with one line, and a line carries the `node` key once (the logger's
// base names the node; log calls must not add it again). `ambit agent --uninstall` for a node
// with nothing installed runs in a fresh network namespace (unshare -n), so it touches nothing.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { kernelTestsEnabled, repoRoot } from './kernel-env.js';

const enabled = kernelTestsEnabled();

function uninstall(level: string | undefined): { code: number | null; stdout: string; stderr: string } {
  const env = { ...process.env };
  delete env.AMBIT_LOG_LEVEL;
  if (level !== undefined) env.AMBIT_LOG_LEVEL = level;
  const r = spawnSync(
    'unshare',
    [
      '-n',
      process.execPath,
      path.join(repoRoot, 'dist/cli/main.js'),
      'agent',
      '--uninstall',
      '--node',
      'log-test',
    ],
    { env, encoding: 'utf8', timeout: 30_000 },
  );
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.skipIf(!enabled)('agent log lines', () => {
  it.each([
    { level: undefined, lines: ['agent uninstalled'] },
    { level: 'debug', lines: ['agent uninstalled'] },
    { level: 'info', lines: ['agent uninstalled'] },
    { level: 'warn', lines: [] },
    { level: 'silent', lines: [] },
  ])('AMBIT_LOG_LEVEL=$level logs $lines', ({ level, lines }) => {
    const r = uninstall(level);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const raw = r.stdout.split('\n').filter((l) => l !== '');
    expect(raw.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(lines);
    for (const line of raw) {
      // JSON.parse keeps the last of duplicate keys; count them in the text itself
      expect(line.match(/"node":/g)).toHaveLength(1);
      expect(JSON.parse(line)).toMatchObject({ name: 'agent', node: 'log-test', level: 30 });
    }
  });

  it('an unknown AMBIT_LOG_LEVEL fails with one line naming the variable', () => {
    const r = uninstall('loud');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual([
      'ambit: LOG_BAD_LEVEL: unknown log level "loud" (AMBIT_LOG_LEVEL or --log-level) (use one of fatal, error, warn, info, debug, trace, silent)',
    ]);
  });
});
