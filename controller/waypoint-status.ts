// Waypoint Gateway status (Gateway API condition shapes) shown by `ambit status`: Accepted once
// the config holds it, Programmed when at least one of its pods is ready to take HBONE traffic.
import type { MeshState } from '../core/model/mesh.js';

export interface WaypointStatus {
  namespace: string;
  name: string;
  instances: number;
  readyInstances: number;
  conditions: { type: 'Accepted' | 'Programmed'; status: 'True' | 'False'; reason: string }[];
}

export function waypointStatuses(state: MeshState): { waypoints: WaypointStatus[] } {
  return {
    waypoints: state.waypoints.map((w) => {
      const ready = w.instances.filter((i) => i.ready).length;
      return {
        namespace: w.namespace,
        name: w.name,
        instances: w.instances.length,
        readyInstances: ready,
        conditions: [
          { type: 'Accepted', status: 'True', reason: 'Accepted' },
          ready > 0
            ? { type: 'Programmed', status: 'True', reason: 'Programmed' }
            : {
                type: 'Programmed',
                status: 'False',
                reason: w.instances.length ? 'NoReadyInstances' : 'NoInstances',
              },
        ],
      };
    }),
  };
}
