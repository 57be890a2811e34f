// Test harness: runs a real `ambit controller` process (node dist/cli/main.js) on a free loopback
// port with a temp config dir and state dir. Shared by the controller, ztunnel and agent suites.
//
//   const ctl = await startControllerHarness({ files: { 'mesh.yaml': yamlText } });
//   ctl.address    // "127.0.0.1:<port>": pass as --controller / DiscoveryClientOptions.controller
//   ctl.stateDir   // holds root-cert.pem and join-token: pass as --state-dir / stateDir
//   ctl.writeFile('mesh.yaml', newText)   // atomic edit (tmp file + rename); the controller reloads
//   await ctl.waitForLog(/mesh state published/)  // or poll `ambit status`
//   await ctl.cli(['config', 'dump', '-o', 'json'])  // runs the CLI against this controller
//   await ctl.restart()   // SIGKILL + start again on the same address and dirs (same CA and token)
//   await ctl.stop()      // SIGTERM (SIGKILL after 5 s) and removes the temp dirs it created
//
// The global vitest setup builds dist/ first. The controller listens on port 0 and the harness
// reads the bound address from its "controller listening" log line, so there is no port race.
import { jsonLogLines } from './json-log-lines.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { repoRoot } from '../../local-cluster/repo-root.js';

export interface ControllerHarnessOptions {
  /** Files written into the config dir before start: relative path -> YAML text. */
  files?: Record<string, string>;
  /** Use this config dir instead of a fresh temp dir (not removed on stop). */
  configDir?: string;
  /** Use this state dir instead of a fresh temp dir (not removed on stop). */
  stateDir?: string;
  trustDomain?: string;
  /** Extra flags for `ambit controller` (e.g. ['--ca-cert', f, '--ca-key', k]). */
  extraArgs?: string[];
  /** pino level of the controller (AMBIT_LOG_LEVEL); default info. */
  logLevel?: string;
  /** Start with `--kubeconfig FILE` (the Kubernetes store) instead of `--config DIR`. */
  kubeconfig?: string;
  /** How long to wait for "controller listening"; default 30 s. */
  startTimeoutMs?: number;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface ControllerHarness {
  /** host:port the controller listens on */
  address: string;
  stateDir: string;
  configDir: string;
  /** The running process (replaced by restart()). */
  process(): ChildProcess;
  /** Atomically writes a file under the config dir (creating directories). */
  writeFile(relativePath: string, text: string): void;
  removeFile(relativePath: string): void;
  /** Everything the controller printed (all runs), stdout and stderr interleaved. */
  logs(): string;
  /** Resolves with the first JSON log line (of the current run, from `since` on) whose msg matches. */
  waitForLog(
    msg: RegExp | string,
    o?: { timeoutMs?: number; since?: number },
  ): Promise<Record<string, unknown>>;
  /** Number of log lines so far: pass as `since` to wait only for later lines. */
  logMark(): number;
  /** Runs `node dist/cli/main.js <args> --controller <address> --state-dir <stateDir>`. */
  cli(args: string[]): Promise<CliResult>;
  /** Kills the process (SIGKILL) and starts it again with the same flags, address and dirs. */
  restart(): Promise<void>;
  /** SIGKILL without restart (e.g. to test reconnecting subscribers). */
  kill(): Promise<void>;
  /** SIGTERM (SIGKILL after 5 s), then removes the temp dirs the harness created. */
  stop(): Promise<void>;
}

export function cliPath(): string {
  return path.join(repoRoot(), 'dist', 'cli', 'main.js');
}

/** Runs the ambit CLI with the given arguments (no controller flags added). */
export function runCli(args: string[], o: { timeoutMs?: number; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath(), ...args], {
      cwd: o.cwd ?? repoRoot(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function waitExit(child: ChildProcess, killAfterMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

export async function startControllerHarness(o: ControllerHarnessOptions = {}): Promise<ControllerHarness> {
  const ownConfig = !o.configDir;
  const ownState = !o.stateDir;
  const configDir = o.configDir ?? mkdtempSync(path.join(tmpdir(), 'ambit-ctl-config-'));
  const stateDir = o.stateDir ?? mkdtempSync(path.join(tmpdir(), 'ambit-ctl-state-'));
  const writeFile = (rel: string, text: string): void => {
    const file = path.join(configDir, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
    writeFileSync(tmp, text);
    renameSync(tmp, file);
  };
  for (const [rel, text] of Object.entries(o.files ?? {})) writeFile(rel, text);

  let all = '';
  let lines: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  let child!: ChildProcess;
  let listen = '127.0.0.1:0';
  let address = '';

  const spawnController = async (): Promise<void> => {
    lines = [];
    const args = [
      cliPath(),
      'controller',
      ...(o.kubeconfig === undefined ? ['--config', configDir] : ['--kubeconfig', o.kubeconfig]),
      '--state-dir',
      stateDir,
      '--listen',
      listen,
    ];
    if (o.trustDomain) args.push('--trust-domain', o.trustDomain);
    args.push(...(o.extraArgs ?? []));
    child = spawn(process.execPath, args, {
      cwd: repoRoot(),
      stdio: ['ignore', 'pipe', 'pipe'],
      // the controller exits by itself if this process dies without stop() (killed test worker)
      env: { ...process.env, AMBIT_LOG_LEVEL: o.logLevel ?? 'info', AMBIT_PARENT_PID: String(process.pid) },
    });
    const readLines = jsonLogLines((l) => lines.push(l));
    child.stdout!.on('data', (d: Buffer) => {
      const s = d.toString();
      all += s;
      readLines(s);
      waiters.forEach((w) => w());
    });
    child.stderr!.on('data', (d: Buffer) => {
      all += d.toString();
    });
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code, sig) =>
        reject(new Error(`ambit controller exited (${code ?? sig}) before listening:\n${all.slice(-4000)}`)),
      ),
    );
    exited.catch(() => undefined);
    const line = await Promise.race([
      waitForLog('controller listening', { timeoutMs: o.startTimeoutMs ?? 30_000 }),
      exited,
    ]);
    address = String(line.address);
    listen = address;
  };

  const waitForLog = (
    msg: RegExp | string,
    w: { timeoutMs?: number; since?: number } = {},
  ): Promise<Record<string, unknown>> => {
    const match = (l: Record<string, unknown>): boolean =>
      typeof msg === 'string' ? l.msg === msg : msg.test(String(l.msg ?? ''));
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const hit = lines.slice(w.since ?? 0).find(match);
        if (hit) {
          waiters.delete(checker);
          clearTimeout(timer);
          resolve(hit);
        }
        return !!hit;
      };
      const checker = (): void => void check();
      const timer = setTimeout(() => {
        waiters.delete(checker);
        reject(
          new Error(`timed out waiting for controller log "${String(msg)}"; logs:\n${all.slice(-4000)}`),
        );
      }, w.timeoutMs ?? 10_000);
      if (!check()) waiters.add(checker);
    });
  };

  await spawnController();
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);

  return {
    get address() {
      return address;
    },
    stateDir,
    configDir,
    process: () => child,
    writeFile,
    removeFile: (rel) => unlinkSync(path.join(configDir, rel)),
    logs: () => all,
    waitForLog,
    logMark: () => lines.length,
    cli: (args) => runCli([...args, '--controller', address, '--state-dir', stateDir]),
    kill: async () => {
      child.kill('SIGKILL');
      await waitExit(child, 5_000);
    },
    restart: async () => {
      child.kill('SIGKILL');
      await waitExit(child, 5_000);
      await spawnController();
    },
    stop: async () => {
      process.off('exit', killOnExit);
      child.kill('SIGTERM');
      await waitExit(child, 5_000);
      if (ownConfig) rmSync(configDir, { recursive: true, force: true });
      if (ownState) rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
