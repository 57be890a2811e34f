// Controller errors: a stable CTL_* code, a hint for the operator, the cause chained.
import { AmbitError } from '../core/errors.js';

export class ControllerError extends AmbitError {}

export const CTL = {
  configDir: 'CTL_CONFIG_DIR',
  kubeconfigUnsupported: 'CTL_KUBECONFIG_NOT_BUILT',
  noConfigSource: 'CTL_NO_CONFIG_SOURCE',
  listen: 'CTL_LISTEN',
  stateDir: 'CTL_STATE_DIR',
  caFiles: 'CTL_CA_FILES',
} as const;
