// How the local cluster's "kubelet" asks the node agent before starting a pod's processes: the
// CNI-ADD analogue `ambit cni gate` (agent/pod-gate*.ts), run in the node's netns, once per
// attempt; a refusal is retried after a short pause, as the kubelet retries a failed sandbox
// set-up. Records when the first attempt ran, when one passed, and the last refusal's cause.
import { distScript } from './host.js';
import { spawnIn, type ManagedProcess } from './processes.js';

export interface PodGateTimings {
  pod: string;
  /** epoch ms the first attempt was spawned */
  firstAttemptAt: number;
  /** epoch ms the passing attempt exited 0 */
  passedAt: number;
  attempts: number;
  /** the last refusal's one-line cause ('' when the first attempt passed) */
  lastRefusal: string;
  /** what the passing attempt printed (capture in place, from the restore cache or the mesh state) */
  passedWith: string;
  /** every distinct refusal cause seen (the reason word of AG_GATE_NOT_READY), in order */
  refusals: string[];
}

export interface PodGateCallOptions {
  netns: string;
  stateDir: string;
  node: string;
  /** `<namespace>/<name>` */
  pod: string;
  timeoutMs?: number;
  retryMs?: number;
  /** track/untrack each attempt's process (the cluster's teardown then reaches it) */
  track: (p: ManagedProcess) => ManagedProcess;
  untrack: (p: ManagedProcess) => void;
}

export async function callPodGateUntilPassed(o: PodGateCallOptions): Promise<PodGateTimings> {
  const timeoutMs = o.timeoutMs ?? 60_000;
  const firstAttemptAt = Date.now();
  const deadline = firstAttemptAt + timeoutMs;
  const refusals: string[] = [];
  let lastRefusal = '';
  for (let attempts = 1; ; attempts++) {
    const proc = o.track(
      spawnIn({ netns: o.netns }, `cni gate ${o.pod}`, [
        process.execPath,
        distScript('cli/main'),
        'cni',
        'gate',
        '--state-dir',
        o.stateDir,
        '--node',
        o.node,
        '--pod',
        o.pod,
      ]),
    );
    const code = await proc.wait();
    o.untrack(proc);
    if (code === 0) {
      const passedWith = proc.lines.join(' ').trim();
      return {
        pod: o.pod,
        firstAttemptAt,
        passedAt: Date.now(),
        attempts,
        lastRefusal,
        refusals,
        passedWith,
      };
    }
    lastRefusal = proc.errLines.join(' ').trim() || `exit ${code}`;
    const reason = /AG_GATE_NOT_READY: ([a-z-]+)/.exec(lastRefusal)?.[1] ?? lastRefusal;
    if (refusals[refusals.length - 1] !== reason) refusals.push(reason);
    if (Date.now() > deadline)
      throw new Error(
        `pod ${o.pod}: the gate did not pass within ${timeoutMs} ms (${attempts} attempts): ${lastRefusal}`,
      );
    await new Promise((r) => setTimeout(r, o.retryMs ?? 200));
  }
}
