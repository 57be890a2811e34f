// The pod start gate on its unix socket: mode 0600, a stale socket from a killed agent replaced,
// answers "not yet" until a plan is applied and yes after, bad requests answered with an error
// line (the server keeps serving), and a client that finds no agent gets "not yet", never "go".
// waitForPodGate asks again on fake time until the answer is yes or the wait is over.
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ATTACH_KINDS } from './attach-kinds.js';
import { askPodGate, gateOutcome, waitForPodGate } from './pod-gate-client.js';
import { podGateSocketPath, type GateAnswer } from './pod-gate-protocol.js';
import { PodGateServer } from './pod-gate-server.js';
import { PodGate, gatePlanFrom, type GatePlan } from './pod-gate.js';

const CG = '/sys/fs/cgroup/kubepods.slice/kubepods-podabc.slice';
const dirs: string[] = [];
const servers: PodGateServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function socketIn(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'ambit-gate-'));
  dirs.push(d);
  return podGateSocketPath(d, 'node-1');
}

async function serve(socketPath: string, plan: { current: GatePlan | undefined }): Promise<PodGateServer> {
  const gate = new PodGate({
    gatePlan: () => plan.current,
    cgroupFacts: () => Promise.resolve({ exists: true, attached: new Set(ATTACH_KINDS) }),
    reconcileNow: () => Promise.resolve(),
  });
  const s = await PodGateServer.listen({ socketPath, gate, logger: pino({ level: 'silent' }) });
  servers.push(s);
  return s;
}

function rawExchange(socketPath: string, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const sock = net.connect(socketPath, () => sock.write(text));
    sock.on('data', (c: Buffer) => (out += c.toString('utf8')));
    sock.on('end', () => resolve(out));
    sock.on('error', reject);
  });
}

describe('pod gate socket', () => {
  it('is <state-dir>/agent-<node>.gate.sock, refuses bad node names and over-long paths', () => {
    expect(podGateSocketPath('/var/lib/ambit', 'node-1')).toBe('/var/lib/ambit/agent-node-1.gate.sock');
    expect(() => podGateSocketPath('/x', '../etc')).toThrow(/not a DNS subdomain/);
    expect(() => podGateSocketPath(`/${'d'.repeat(100)}`, 'node-1')).toThrow(/longer than 107 bytes/);
  });

  it('answers "not yet" until a plan is applied, then yes; mode 0600; stale socket replaced', async () => {
    const socketPath = socketIn();
    writeFileSync(socketPath, ''); // what a SIGKILLed agent leaves behind
    const plan: { current: GatePlan | undefined } = { current: undefined };
    await serve(socketPath, plan);
    expect(statSync(socketPath).mode & 0o777).toBe(0o600);
    expect(await askPodGate(socketPath, 'shop/cart')).toMatchObject({ ready: false, reason: 'no-plan' });
    plan.current = gatePlanFrom('restore', new Map([[CG, 'shop/cart']]), []);
    expect(await askPodGate(socketPath, 'shop/cart')).toEqual({
      ready: true,
      pod: 'shop/cart',
      reason: 'captured',
      source: 'restore',
      cgroup: CG,
    });
  });

  it('answers a bad request with an error line and keeps serving', async () => {
    const socketPath = socketIn();
    await serve(socketPath, { current: undefined });
    expect(await rawExchange(socketPath, 'not json\n')).toMatch(/^\{"error":"bad request: not JSON/);
    expect(await rawExchange(socketPath, '{"pod":"no-slash"}\n')).toMatch(/expected <namespace>\/<name>/);
    expect(await rawExchange(socketPath, `${'x'.repeat(5000)}`)).toMatch(/longer than 4096 bytes/);
    expect(await askPodGate(socketPath, 'shop/cart')).toMatchObject({ ready: false, reason: 'no-plan' });
  });

  it('no agent listening is "not yet" (agent-unreachable), never a pass', async () => {
    const socketPath = socketIn();
    expect(await askPodGate(socketPath, 'shop/cart')).toMatchObject({
      ready: false,
      reason: 'agent-unreachable',
      message: expect.stringMatching(/ENOENT/),
    });
    writeFileSync(socketPath, ''); // stale file, nobody bound
    expect(await askPodGate(socketPath, 'shop/cart')).toMatchObject({
      ready: false,
      reason: 'agent-unreachable',
    });
  });
});

describe('waitForPodGate (fake time)', () => {
  const notYet: GateAnswer = { ready: false, pod: 'shop/cart', reason: 'no-plan', message: 'no plan' };
  const yes: GateAnswer = {
    ready: true,
    pod: 'shop/cart',
    reason: 'captured',
    source: 'restore',
    cgroup: CG,
  };

  function fakeClock(): { now(): number; sleep(ms: number): Promise<void>; slept: number[] } {
    let t = 0;
    const slept: number[] = [];
    return {
      now: () => t,
      sleep: (ms) => {
        slept.push(ms);
        t += ms;
        return Promise.resolve();
      },
      slept,
    };
  }

  it('asks again every interval until yes', async () => {
    const answers = [notYet, notYet, yes];
    const clock = fakeClock();
    const r = await waitForPodGate('/s', 'shop/cart', {
      waitMs: 10_000,
      intervalMs: 250,
      clock,
      ask: () => Promise.resolve(answers.shift() ?? yes),
    });
    expect(r).toEqual({ answer: yes, attempts: 3 });
    expect(clock.slept).toEqual([250, 250]);
  });

  it('gives up with the last "not yet" when the wait is over; --wait 0 asks once', async () => {
    const clock = fakeClock();
    const r = await waitForPodGate('/s', 'shop/cart', {
      waitMs: 1000,
      intervalMs: 300,
      clock,
      ask: () => Promise.resolve(notYet),
    });
    expect(r.attempts).toBe(5); // at 0, 300, 600, 900, 1000
    expect(() => gateOutcome(r.answer, r.attempts)).toThrow(/no-plan: no plan \(after 5 attempts\)/);
    const once = await waitForPodGate('/s', 'shop/cart', {
      waitMs: 0,
      clock,
      ask: () => Promise.resolve(notYet),
    });
    expect(once.attempts).toBe(1);
    expect(gateOutcome(yes, 1)).toMatch(/capture in place/);
  });
});
