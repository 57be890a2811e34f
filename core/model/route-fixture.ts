// Resources the route tests build their worlds from (route-problems, compile-routes and the
// controller's route-status tests): a Service with ports, a Gateway of a class with the mesh
// listener, an ExtensionRef filter no implementation supports. Test-only (the build leaves out
// *-fixture.ts).
import type { Gateway } from './resources/gateway.js';
import type { Service } from './resources/service.js';

/** A Service; with a clusterIP when the test compiles the mesh state from it. */
export const service = (
  namespace: string,
  name: string,
  ports: { port: number; name?: string }[],
  clusterIP?: string,
): Service => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace },
  spec: clusterIP === undefined ? { ports } : { clusterIP, ports },
});

export const gateway = (namespace: string, name: string, className: string): Gateway => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'Gateway',
  metadata: { name, namespace },
  spec: { gatewayClassName: className, listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] },
});

/** A filter of a kind no implementation knows: the rule carrying it is PartiallyInvalid. */
export const EXT = {
  type: 'ExtensionRef' as const,
  extensionRef: { group: 'example.com', kind: 'Magic', name: 'm' },
};
