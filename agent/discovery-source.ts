// The production mesh-state source: the controller's discovery stream through the shared
// discovery client (core/discovery/client.ts, owned by the controller engineer). Loaded lazily so
// the agent still runs from a state file where the client is not built in.
import type { Logger } from 'pino';
import type { MeshState } from '../core/model/mesh.js';
import type { MeshStateSource } from './state-file-source.js';
import { AgentError } from './errors.js';

interface DiscoveryClientLike {
  start(): Promise<void>;
  close(): Promise<void>;
}
type DiscoveryClientCtor = new (o: {
  controller: string;
  stateDir: string;
  subscriber: { kind: 'agent'; node: string };
  onState: (state: MeshState, version: string) => void | Promise<void>;
  logger?: Logger;
}) => DiscoveryClientLike;

export async function discoverySource(opts: {
  controller: string;
  stateDir: string;
  node: string;
  logger: Logger;
  onState: (s: MeshState) => Promise<void>;
}): Promise<MeshStateSource> {
  const specifier = '../core/discovery/client.js';
  let mod: { DiscoveryClient?: DiscoveryClientCtor };
  try {
    mod = (await import(specifier)) as { DiscoveryClient?: DiscoveryClientCtor };
  } catch (err) {
    throw new AgentError('AG_NO_DISCOVERY', 'the discovery client is not available in this build', {
      cause: err,
      hint: 'use --state-file for a controller-less run',
    });
  }
  if (!mod.DiscoveryClient)
    throw new AgentError('AG_NO_DISCOVERY', 'core/discovery/client has no DiscoveryClient');
  return new mod.DiscoveryClient({
    controller: opts.controller,
    stateDir: opts.stateDir,
    subscriber: { kind: 'agent', node: opts.node },
    onState: (state) => opts.onState(state),
    logger: opts.logger,
  });
}
