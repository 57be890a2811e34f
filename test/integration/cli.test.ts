// The `ambit` CLI contract (DESIGN.md §8): every command has --help and lists its contract flags;
// a command given bad flags says so in one line and exits non-zero (no fake output).
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const cli = (...args: string[]) =>
  spawnSync(process.execPath, ['bin/ambit.js', ...args], { encoding: 'utf8', timeout: 30_000 });

describe('ambit CLI', () => {
  it.each([
    [
      ['controller'],
      ['--config', '--kubeconfig', '--listen', '--state-dir', '--ca-cert', '--ca-key', '--trust-domain'],
    ],
    [['agent'], ['--node', '--controller', '--state-dir']],
    [['ztunnel'], ['--node', '--controller', '--state-dir', '--address']],
    [['waypoint'], ['--name', '--controller', '--state-dir']],
    [['status'], ['--controller', '--state-dir', '-o']],
    [
      ['config', 'dump'],
      ['--controller', '--state-dir', '-o'],
    ],
    [['describe'], ['--controller', '--state-dir', '-o']],
    [['demo'], ['--keep']],
    [['bpf'], []],
  ])('%s --help lists its flags', (cmd, flags) => {
    const r = cli(...cmd, '--help');
    expect(r.status).toBe(0);
    for (const f of flags) expect(r.stdout).toContain(f);
  });

  it.each([
    [['--name', 'no-slash'], /WP_BAD_NAME: --name "no-slash" is not <namespace>\/<gateway>/],
    [['--name', 'shop/wp', '--drain', 'soon'], /WP_BAD_FLAG: --drain: expected a duration/],
    [
      ['--name', 'shop/wp', '--trace-sampling', '101'],
      /WP_BAD_FLAG: --trace-sampling: expected a percentage/,
    ],
  ])('waypoint %j fails with a one-line cause naming the flag', (args, want) => {
    const r = cli('waypoint', ...args);
    expect(r.status).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(want);
  });

  it('an unknown command fails with a one-line cause', () => {
    const r = cli('frobnicate');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/unknown command/);
  });
});
