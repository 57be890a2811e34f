// Public surface of core/bpf-maps: pin paths, the mesh-address convention, map codecs, typed
// pinned maps and the ztunnel's original-destination lookup. Imported by agent/ and ztunnel/.
export { DEFAULT_MESH_ADDRESS, CAPTURE_PORT, INBOUND_PLAINTEXT_PORT } from './mesh-address.js';
export {
  pinRoot,
  mapPinPath,
  mapPinDir,
  progPinDir,
  progPinPath,
  AMBIT_PIN_PARENT,
  BPFFS_ROOT,
} from './pin-paths.js';
export { openOriginalDestinationMap, type OriginalDestinationMap } from './original-destination.js';
export { PinnedMap } from './pinned-map.js';
export * from './map-codecs.js';
export { BpfError } from './errors.js';
