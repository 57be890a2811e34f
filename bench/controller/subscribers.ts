// Child process of the controller bench: runs DiscoveryClient subscribers (ztunnels) for the nodes
// it is given, started one after another, and reports every applied version to the parent over IPC.
import { DiscoveryClient } from '../../core/discovery/client.js';
import { nodeName } from './mesh-generator.js';

export interface SubscribersStart {
  controller: string;
  stateDir: string;
  nodes: number[];
}

export type SubscriberReport =
  | { type: 'applied'; node: string; version: string; at: number; workloads: number }
  | { type: 'ready'; count: number }
  | { type: 'error'; message: string };

const send = (m: SubscriberReport): void => void process.send!(m);

process.once('message', (start: SubscribersStart) => {
  void (async () => {
    const clients: DiscoveryClient[] = [];
    try {
      for (const n of start.nodes) {
        const node = nodeName(n);
        const c = new DiscoveryClient({
          controller: start.controller,
          stateDir: start.stateDir,
          subscriber: { kind: 'ztunnel', node },
          onState: (state, version) =>
            send({ type: 'applied', node, version, at: Date.now(), workloads: state.workloads.length }),
        });
        clients.push(c);
        await c.start();
      }
      send({ type: 'ready', count: clients.length });
    } catch (err) {
      send({ type: 'error', message: (err as Error).message });
    }
    process.on('message', (m: string) => {
      if (m === 'stop') void Promise.all(clients.map((c) => c.close())).then(() => process.exit(0));
    });
  })();
});
