// Runs the agent process: start the NodeAgent (which first re-applies its restore cache in
// --state-dir), feed it mesh states from the discovery client (or a state file), stop on
// SIGINT/SIGTERM leaving the kernel state in place. `uninstall` removes this node's programs,
// pins, mesh address and restore cache instead. The pod start gate's socket
// (<state-dir>/agent-<node>.gate.sock, pod-gate-server.ts) listens from before the agent starts:
// until a plan is applied it answers "not yet", so a pod asking early waits instead of failing open.
import { rmSync } from 'node:fs';
import type { Logger } from 'pino';
import { createLogger, exitAfterFlush } from '../core/telemetry/logger.js';
import { NodeAgent } from './node-agent.js';
import { RestoreCache } from './restore-cache.js';
import { PodGate } from './pod-gate.js';
import { podGateSocketPath } from './pod-gate-protocol.js';
import { PodGateServer } from './pod-gate-server.js';
import { discoverySource } from './discovery-source.js';
import { stateFileSource, type MeshStateSource } from './state-file-source.js';

export interface RunAgentOptions {
  node: string;
  controller: string;
  stateDir: string;
  /** Scoped bootstrap token file (`ambit token create --node`). */
  tokenFile?: string | undefined;
  meshAddress?: string;
  stateFile?: string;
  bpfObjects?: string;
  uninstall?: boolean;
  resyncMs?: number;
}

export async function runAgent(o: RunAgentOptions): Promise<void> {
  const logger = createLogger('agent', { base: { node: o.node } });
  const agent = new NodeAgent({
    node: o.node,
    meshAddress: o.meshAddress,
    objectDir: o.bpfObjects,
    resyncMs: o.resyncMs,
    restoreCache: new RestoreCache(o.stateDir, o.node),
    logger,
  });
  if (o.uninstall) {
    await agent.uninstall();
    removeGateSocket(o.stateDir, o.node); // what a killed agent left
    return;
  }
  const gate = await startPodGate(o, agent, logger);
  await agent.start();
  const onState = (s: Parameters<NodeAgent['apply']>[0]) => agent.apply(s);
  const source: MeshStateSource = o.stateFile
    ? stateFileSource(o.stateFile, onState)
    : discoverySource({
        controller: o.controller,
        stateDir: o.stateDir,
        tokenFile: o.tokenFile,
        node: o.node,
        logger,
        onState,
      });
  const stop = async (signal: string): Promise<void> => {
    logger.info({ signal }, 'agent stopping; programs stay attached');
    await source.close().catch(() => undefined);
    await gate?.close().catch(() => undefined);
    agent.close();
    exitAfterFlush(logger, 0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  await source.start();
  logger.info('first mesh state applied');
}

/**
 * The pod start gate's server. A gate that cannot listen (a state dir path too long for a unix
 * socket, no permission) costs the gate, not the agent: pods asking it then wait (fail closed).
 */
async function startPodGate(
  o: RunAgentOptions,
  agent: NodeAgent,
  logger: Logger,
): Promise<PodGateServer | undefined> {
  try {
    return await PodGateServer.listen({
      socketPath: podGateSocketPath(o.stateDir, o.node),
      gate: new PodGate(agent),
      logger,
    });
  } catch (err) {
    logger.error({ err }, 'pod gate not started: pods asking it (ambit cni gate) will wait');
    return undefined;
  }
}

function removeGateSocket(stateDir: string, node: string): void {
  try {
    rmSync(podGateSocketPath(stateDir, node), { force: true });
  } catch {
    // no such socket could have been made
  }
}
