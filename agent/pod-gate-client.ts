// Asking the pod start gate (pod-gate-server.ts), as a CNI plugin's ADD or a kubelet hook would:
// askPodGate() is one question (an agent that does not answer is "not yet", never an error that
// lets the pod start); waitForPodGate() asks again until the answer is yes or the wait is over,
// on an injected clock so tests run on fake time.
import net from 'node:net';
import { agentError } from './errors.js';
import { GATE_MAX_LINE, decodeGateReply, type GateAnswer } from './pod-gate-protocol.js';

export async function askPodGate(socketPath: string, pod: string, timeoutMs = 5000): Promise<GateAnswer> {
  const unreachable = (why: string): GateAnswer => ({
    ready: false,
    pod,
    reason: 'agent-unreachable',
    message: `no agent answers on ${socketPath} (${why})`,
  });
  return new Promise((resolve) => {
    let buf = '';
    let done = false;
    const finish = (a: GateAnswer): void => {
      if (done) return;
      done = true;
      sock.destroy();
      resolve(a);
    };
    const sock = net.connect(socketPath, () => sock.write(`${JSON.stringify({ pod })}\n`));
    sock.setTimeout(timeoutMs, () => finish(unreachable(`no answer within ${timeoutMs} ms`)));
    sock.on('error', (err: NodeJS.ErrnoException) => finish(unreachable(err.code ?? err.message)));
    sock.on('data', (c: Buffer) => {
      buf += c.toString('utf8');
      if (buf.length > GATE_MAX_LINE) finish(unreachable('answer too long'));
    });
    sock.on('end', () => {
      const line = buf.split('\n')[0] ?? '';
      const d = decodeGateReply(line);
      if (!d.ok) finish(unreachable(`unreadable answer: ${d.error}`));
      else if (d.value.kind === 'error') finish(unreachable(`the agent could not answer: ${d.value.error}`));
      else finish(d.value.answer);
    });
  });
}

export interface GateClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: GateClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

export interface WaitForPodGateOptions {
  /** 0: ask once */
  waitMs: number;
  intervalMs?: number;
  clock?: GateClock;
  ask?: (socketPath: string, pod: string) => Promise<GateAnswer>;
}

/** Asks until ready or `waitMs` has passed; the last answer (ready or the last "not yet"). */
export async function waitForPodGate(
  socketPath: string,
  pod: string,
  o: WaitForPodGateOptions,
): Promise<{ answer: GateAnswer; attempts: number }> {
  const clock = o.clock ?? realClock;
  const ask = o.ask ?? askPodGate;
  const deadline = clock.now() + o.waitMs;
  let attempts = 0;
  for (;;) {
    const answer = await ask(socketPath, pod);
    attempts++;
    if (answer.ready || clock.now() >= deadline) return { answer, attempts };
    await clock.sleep(Math.min(o.intervalMs ?? 200, Math.max(0, deadline - clock.now())));
  }
}

/** The CLI's outcome: resolves when capture is in place, throws AG_GATE_NOT_READY with the cause otherwise. */
export function gateOutcome(answer: GateAnswer, attempts: number): string {
  if (answer.ready)
    return answer.reason === 'captured'
      ? `${answer.pod}: capture in place (${answer.cgroup ?? ''}, from the ${answer.source === 'mesh' ? 'mesh state' : 'restore cache'})`
      : `${answer.pod}: not enrolled; nothing to set up`;
  throw agentError(
    'AG_GATE_NOT_READY',
    `${answer.reason}: ${answer.message}${attempts > 1 ? ` (after ${attempts} attempts)` : ''}`,
  );
}
