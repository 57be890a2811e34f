// Label and annotation names the mesh reads (DESIGN.md §6), in one place.
export const DATAPLANE_MODE_LABEL = 'ambit.dev/dataplane-mode';
export const USE_WAYPOINT_LABEL = 'ambit.dev/use-waypoint';
export const CGROUP_PATH_ANNOTATION = 'ambit.dev/cgroup-path';
export const GATEWAY_NAME_LABEL = 'gateway.networking.k8s.io/gateway-name';
export const DATAPLANE_MODES = ['ambient', 'none'] as const;
/** ambit.dev/use-waypoint: none on a pod or Service opts out of its namespace's waypoint. */
export const NO_WAYPOINT = 'none';
