// The pod start gate's wire shapes (the agent's answer to a CNI ADD, pod-gate.ts): one JSON line
// each way on a unix socket in the agent's state dir, `<state-dir>/agent-<node>.gate.sock`
// (one per node, like the restore cache, so local-cluster nodes sharing a state dir never mix).
// Shapes, the socket path and strict decoding only; no socket or kernel code here.
import path from 'node:path';
import { z } from 'zod';
import { decodeJson, type JsonDecoded } from '../core/model/decode-json.js';
import { agentError } from './errors.js';

/** Why capture for a pod is in place (`ready`) or not yet. */
export type GateReadyReason = 'captured' | 'not-enrolled';
export type GateWaitReason =
  /** no plan applied yet: the agent is loading its programs or applying its restore cache */
  | 'no-plan'
  /** the applied plan does not name the pod (restore cache: not cached; controller: not in its view) */
  | 'unknown-pod'
  /** the plan names the pod but could not place it (no cgroup found, bad cgroup path) */
  | 'skipped'
  /** the pod's cgroup does not exist (yet) */
  | 'cgroup-missing'
  /** the cgroup exists, some of our programs are not attached to it (yet) */
  | 'not-attached'
  /** client side only: no agent answers on the socket */
  | 'agent-unreachable';

export type GateAnswer =
  | { ready: true; pod: string; reason: GateReadyReason; source: 'mesh' | 'restore'; cgroup?: string }
  | { ready: false; pod: string; reason: GateWaitReason; message: string };

export interface GateRequest {
  /** `<namespace>/<name>` */
  pod: string;
}

/** A request or answer line is never longer than this (the server drops longer ones). */
export const GATE_MAX_LINE = 4096;

const podName = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, {
    message: 'expected <namespace>/<name> (lower-case DNS names)',
  });

const requestSchema = z.object({ pod: podName }).strict();

const answerSchema = z.discriminatedUnion('ready', [
  z.object({
    ready: z.literal(true),
    pod: z.string(),
    reason: z.enum(['captured', 'not-enrolled']),
    source: z.enum(['mesh', 'restore']),
    cgroup: z.string().optional(),
  }),
  z.object({
    ready: z.literal(false),
    pod: z.string(),
    reason: z.enum([
      'no-plan',
      'unknown-pod',
      'skipped',
      'cgroup-missing',
      'not-attached',
      'agent-unreachable',
    ]),
    message: z.string(),
  }),
]);

export type Decoded<T> = JsonDecoded<T>;

function decode<T>(schema: z.ZodType<T>, line: string): Decoded<T> {
  return decodeJson(schema, line, '(line)');
}

/** True for `<namespace>/<name>` with DNS-name parts. */
export function isPodName(pod: string): boolean {
  return podName.safeParse(pod).success;
}

export function decodeGateRequest(line: string): Decoded<GateRequest> {
  return decode(requestSchema, line);
}

export function decodeGateAnswer(line: string): Decoded<GateAnswer> {
  const d = decode(answerSchema, line);
  if (!d.ok) return d;
  // exactOptionalPropertyTypes: drop an absent cgroup rather than carry `cgroup: undefined`
  const a = d.value;
  if (a.ready) {
    const { cgroup, ...rest } = a;
    return { ok: true, value: cgroup === undefined ? rest : { ...rest, cgroup } };
  }
  return { ok: true, value: a };
}

const errorSchema = z.object({ error: z.string() });

/** What the server sends back: an answer, or why it could not read the request. */
export type GateReply = { kind: 'answer'; answer: GateAnswer } | { kind: 'error'; error: string };

export function decodeGateReply(line: string): Decoded<GateReply> {
  const a = decodeGateAnswer(line);
  if (a.ok) return { ok: true, value: { kind: 'answer', answer: a.value } };
  const e = decode(errorSchema, line);
  if (e.ok) return { ok: true, value: { kind: 'error', error: e.value.error } };
  return a;
}

/** Unix socket paths are limited to 107 bytes (sun_path). */
const SUN_PATH_MAX = 107;

/** `<state-dir>/agent-<node>.gate.sock`, absolute; refuses a path the kernel could not bind. */
export function podGateSocketPath(stateDir: string, node: string): string {
  if (!/^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/.test(node))
    throw agentError('AG_GATE', `node name ${JSON.stringify(node)} is not a DNS subdomain`);
  const p = path.resolve(stateDir, `agent-${node}.gate.sock`);
  if (Buffer.byteLength(p) > SUN_PATH_MAX)
    throw agentError('AG_GATE', `pod gate socket path ${p} is longer than ${SUN_PATH_MAX} bytes`);
  return p;
}
