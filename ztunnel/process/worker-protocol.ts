// The IPC protocol between the `--workers` primary and its worker processes: one discriminated
// union per direction, validated where it is received (a message is `unknown` until parsed here).
// Only shapes live here; who sends what and when is worker-supervisor.ts and run-ztunnel.ts.
import { z } from 'zod';

const requestId = z.number().int().nonnegative();

const workerToPrimary = z.discriminatedUnion('type', [
  /** Listening and serving; `address` is where the primary serves 15020/15021. */
  z.object({ type: z.literal('ztunnel-ready'), address: z.string() }),
  /** A worker's prom-client registry as JSON, for the primary to aggregate. */
  z.object({ type: z.literal('ztunnel-metrics-res'), id: requestId, metrics: z.array(z.unknown()) }),
  z.object({ type: z.literal('ztunnel-dump-res'), id: requestId, body: z.unknown() }),
  /** Start-up failed; the worker exits next. `code` is the error's stable code when it had one. */
  z.object({ type: z.literal('ztunnel-failed'), message: z.string(), code: z.string().optional() }),
]);

const primaryToWorker = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ztunnel-metrics-req'), id: requestId }),
  z.object({ type: z.literal('ztunnel-dump-req'), id: requestId, what: z.enum(['config', 'workloads']) }),
  /** Stop gracefully and exit; the primary kills the worker if it has not exited in time. */
  z.object({ type: z.literal('ztunnel-stop') }),
]);

export type WorkerToPrimary = z.infer<typeof workerToPrimary>;
export type PrimaryToWorker = z.infer<typeof primaryToWorker>;
export type DumpKind = Extract<PrimaryToWorker, { type: 'ztunnel-dump-req' }>['what'];

/** A message from a worker, or undefined when it is not one of the protocol's. */
export function parseWorkerMessage(m: unknown): WorkerToPrimary | undefined {
  const r = workerToPrimary.safeParse(m);
  return r.success ? r.data : undefined;
}

/** A message from the primary, or undefined when it is not one of the protocol's. */
export function parsePrimaryMessage(m: unknown): PrimaryToWorker | undefined {
  const r = primaryToWorker.safeParse(m);
  return r.success ? r.data : undefined;
}
