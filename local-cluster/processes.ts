// Starting and stopping the local cluster's processes: in a network namespace (nsenter --net,
// never `ip netns exec`, which remounts /sys and hides bpffs and cgroups) and, for pod
// processes, inside the pod's cgroup (the wrapper shell writes its own pid to cgroup.procs
// before exec, so every socket the app opens already belongs to the pod). Each process leads
// its own process group so a stop reaches everything it started.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export interface SpawnPlace {
  netns: string;
  /** absolute cgroup v2 directory to join before exec */
  cgroup?: string;
}

export class ManagedProcess {
  readonly lines: string[] = [];
  readonly errLines: string[] = [];
  private exitCode: number | null | undefined;
  private readonly exited: Promise<number | null>;
  private waiters: (() => void)[] = [];

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    const collect = (into: string[]) => {
      let rest = '';
      return (chunk: Buffer): void => {
        rest += chunk.toString('utf8');
        const parts = rest.split('\n');
        rest = parts.pop() ?? '';
        for (const l of parts) {
          into.push(l);
          if (into.length > 20000) into.splice(0, 10000); // bounded memory on chatty processes
        }
        this.waiters.forEach((w) => w());
      };
    };
    child.stdout?.on('data', collect(this.lines));
    child.stderr?.on('data', collect(this.errLines));
    this.exited = new Promise((resolve) =>
      child.on('exit', (code) => {
        this.exitCode = code;
        this.waiters.forEach((w) => w());
        resolve(code);
      }),
    );
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** Resolves with the first stdout/stderr line matching re; rejects on exit or timeout. */
  waitForLine(re: RegExp, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const hit = [...this.lines, ...this.errLines].find((l) => re.test(l));
        if (hit !== undefined) {
          cleanup();
          resolve(hit);
          return true;
        }
        if (!this.running) {
          cleanup();
          reject(new Error(`${this.name} exited (${this.exitCode}) before printing ${re}: ${this.tail()}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${this.name}: no line matching ${re} within ${timeoutMs} ms: ${this.tail()}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== waiter);
      };
      const waiter = (): void => void check();
      this.waiters.push(waiter);
      check();
    });
  }

  tail(n = 5): string {
    return [...this.lines.slice(-n), ...this.errLines.slice(-n)].join(' | ').slice(0, 2000);
  }

  /** SIGTERM the process group, SIGKILL after graceMs. */
  async stop(graceMs = 2000): Promise<void> {
    if (!this.running) return;
    signalGroup(this.pid, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(this.pid, 'SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
    signalGroup(this.pid, 'SIGKILL'); // stragglers of the group
  }

  wait(): Promise<number | null> {
    return this.exited;
  }
}

export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  if (pid <= 0) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // gone already
    }
  }
}

export function spawnIn(
  place: SpawnPlace,
  name: string,
  argv: string[],
  env?: NodeJS.ProcessEnv,
): ManagedProcess {
  const ns = `--net=/run/netns/${place.netns}`;
  const [cmd, args] = place.cgroup
    ? [
        'sh',
        [
          '-c',
          'echo $$ > "$1" && shift && exec nsenter "$@"',
          'sh',
          path.join(place.cgroup, 'cgroup.procs'),
          ns,
          '--',
          ...argv,
        ],
      ]
    : ['nsenter', [ns, '--', ...argv]];
  const child = spawn(cmd, args, {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: env ?? process.env,
  });
  return new ManagedProcess(name, child);
}
