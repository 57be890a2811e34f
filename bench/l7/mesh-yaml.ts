// The mesh bench/l7 runs on (on top of test/support/controller-mesh-yaml.ts's two nodes and
// client pod at <p>.11 on node-1): the backend pod <p>.12 on node-2 behind two Services, `l7`
// (labelled ambit.dev/use-waypoint: wp, VIP <p>.110) and `l4` (no waypoint, VIP <p>.111), and the
// waypoint Gateway shop/wp with its pod <p>.20 on node-1 (never captured).
import { waypointYaml, ztunnelMeshYaml } from '../../test/support/controller-mesh-yaml.js';

export const WAYPOINT = { namespace: 'shop', gateway: 'wp' } as const;

export function l7MeshYaml(
  p: string,
  backendPort: number,
): { yaml: string; waypointIp: string; vip: { l7: string; l4: string } } {
  const waypointIp = `${p}.20`;
  const vip = { l7: `${p}.110`, l4: `${p}.111` };
  const service = (name: string, ip: string, labels: string) => `apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: shop${labels}}
spec:
  selector: {app: echo}
  clusterIP: ${ip}
  ports: [{name: http, port: 80, targetPort: ${backendPort}, appProtocol: http}]`;
  const extra = [
    waypointYaml(WAYPOINT, waypointIp),
    service('l7', vip.l7, `, labels: {ambit.dev/use-waypoint: ${WAYPOINT.gateway}}`),
    service('l4', vip.l4, ''),
  ].join('\n---\n');
  // the echo pod of the shared YAML is the backend (<p>.12 on node-2, label app: echo)
  return {
    yaml: ztunnelMeshYaml(p, { echo: backendPort, halfClose: backendPort + 1 }, extra + '\n'),
    waypointIp,
    vip,
  };
}
