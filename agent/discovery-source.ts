// The production mesh-state source: the controller's discovery stream through the shared
// discovery client (core/discovery/client.ts), which also bootstraps the node identity with the
// node's scoped token (--token-file) or the join token from the state dir.
import type { Logger } from 'pino';
import { DiscoveryClient } from '../core/discovery/client.js';
import type { MeshState } from '../core/model/mesh.js';
import type { MeshStateSource } from './state-file-source.js';

export function discoverySource(opts: {
  controller: string;
  stateDir: string;
  tokenFile?: string | undefined;
  node: string;
  logger: Logger;
  onState: (s: MeshState) => Promise<void>;
}): MeshStateSource {
  return new DiscoveryClient({
    controller: opts.controller,
    stateDir: opts.stateDir,
    tokenFile: opts.tokenFile,
    subscriber: { kind: 'agent', node: opts.node },
    onState: (state) => opts.onState(state),
    logger: opts.logger,
  });
}
