// The Vagrantfile: `vagrant validate` (Debian's vagrant package; scripts/setup.sh installs it)
// accepts it and refuses a broken copy, and its shell provisioner parses, checks the kernel and
// cgroup v2, installs Node 20 rather than Debian's 18 and fails unless the version it ends up with
// meets package.json's engines, then runs scripts/setup.sh in the synced folder. Under CI=true a
// missing vagrant fails the suite; elsewhere the validate cases are skipped with the reason.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const vagrantfile = readFileSync('Vagrantfile', 'utf8');
const hasVagrant = spawnSync('vagrant', ['--version'], { stdio: 'ignore' }).status === 0;
const work = mkdtempSync(path.join(tmpdir(), 'ambit-vagrant-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs `vagrant validate` in dir with its state kept in the temp dir, not in the repo or $HOME. */
function validate(dir: string): { status: number | null; output: string } {
  const r = spawnSync('vagrant', ['validate'], {
    cwd: dir,
    encoding: 'utf8',
    env: {
      ...process.env,
      VAGRANT_DOTFILE_PATH: path.join(work, 'dotfile'),
      VAGRANT_HOME: path.join(work, 'home'),
      VAGRANT_CHECKPOINT_DISABLE: '1',
    },
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/** The inline shell provisioner (between `<<-SHELL` and `SHELL`). */
function provisioner(): string {
  const m = /<<-SHELL\n([\s\S]*?)\n\s*SHELL\n/.exec(vagrantfile);
  if (!m?.[1]) throw new Error('Vagrantfile has no inline SHELL provisioner');
  return m[1];
}

describe('Vagrantfile', () => {
  it('vagrant is installed where CI runs', () => {
    if (process.env.CI === 'true')
      expect(hasVagrant, 'vagrant missing: sudo bash scripts/setup.sh').toBe(true);
  });

  it.skipIf(!hasVagrant && process.env.CI !== 'true')('passes `vagrant validate`', () => {
    const r = validate(process.cwd());
    expect(r.output).toContain('validated successfully');
    expect(r.status).toBe(0);
  });

  it.skipIf(!hasVagrant && process.env.CI !== 'true')('`vagrant validate` refuses a broken copy', () => {
    const dir = path.join(work, 'broken');
    execFileSync('mkdir', ['-p', dir]);
    writeFileSync(
      path.join(dir, 'Vagrantfile'),
      vagrantfile.replace('config.vm.hostname', 'config.vm.no_such_setting = 1\n  config.vm.hostname'),
    );
    const r = validate(dir);
    expect(r.status).not.toBe(0);
    expect(r.output).toContain('no_such_setting');
  });

  it('a Debian 12 box: kernel >= 5.15 and cgroup v2, checked by the provisioner', () => {
    expect(vagrantfile).toContain('config.vm.box = "debian/bookworm64"');
    const script = provisioner();
    expect(script).toContain('printf \'%s\\n\' 5.15 "$kernel" | sort -V -C');
    expect(script).toContain('stat -fc %T /sys/fs/cgroup)" = cgroup2fs');
  });

  it('the provisioner is valid bash', () => {
    const file = path.join(work, 'provision.sh');
    writeFileSync(file, provisioner());
    expect(spawnSync('bash', ['-n', file], { encoding: 'utf8' }).stderr).toBe('');
  });

  it('installs Node 20 and fails loudly unless node meets package.json engines', () => {
    const engines = (JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string } })
      .engines.node;
    expect(engines).toBe('>=20.10');
    const script = provisioner();
    expect(script).toContain('https://deb.nodesource.com/setup_20.x');
    // the same predicate decides whether to install and whether to fail after installing
    const predicate = /node -e '([^']+)'/.exec(script)?.[1];
    expect(predicate).toBeDefined();
    const accepts = (version: string) =>
      spawnSync(process.execPath, [
        '-e',
        `Object.defineProperty(process.versions, 'node', { value: '${version}' }); ${predicate}`,
      ]).status === 0;
    expect(['18.19.1', '20.9.0', '19.99.0'].map(accepts)).toEqual([false, false, false]);
    expect(['20.10.0', '20.19.2', '22.1.0'].map(accepts)).toEqual([true, true, true]);
    expect(script).toMatch(/node_ok \|\| fail "node .* is not >= 20\.10/);
  });

  it('syncs the repo to /ambit and runs scripts/setup.sh there', () => {
    expect(vagrantfile).toContain('config.vm.synced_folder ".", "/ambit"');
    expect(provisioner()).toContain('cd /ambit && bash scripts/setup.sh');
  });
});
