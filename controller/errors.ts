// Controller errors: a stable CTL_* code and its operator hint, declared once in the table below
// (core/errors.ts defineErrors); throw sites give the message and chain the cause.
import { AmbitError, defineErrors } from '../core/errors.js';

const HINTS = {
  CTL_CONFIG_DIR: undefined,
  CTL_KUBE_STORE: 'check the kubeconfig, the API server and the controller RBAC (deploy/daemonset/rbac.yaml)',
  CTL_KUBE_CREDENTIALS:
    'the controller needs get/create/update on the Secret ambit-ca and the ConfigMap ambit-root-cert in its namespace',
  CTL_TOKEN_REVIEW:
    'the node or waypoint pod must mount a projected service-account token with audience ambit',
  CTL_LEADER: undefined,
  CTL_KUBE_STATUS: undefined,
  CTL_WAYPOINT_DEPLOY: undefined,
  CTL_METRICS_LISTEN: undefined,
  CTL_NO_CONFIG_SOURCE: undefined,
  CTL_LISTEN: undefined,
  CTL_STATE_DIR: undefined,
  CTL_CA_FILES: undefined,
  CTL_TOKEN_STORE:
    'check that --state-dir is writable by the controller and tokens.json is the file it wrote',
  CTL_TOKEN_SCOPE: undefined,
  CTL_TOKEN_NOT_FOUND: 'list the tokens with `ambit token list`',
} as const;

export type ControllerErrorCode = keyof typeof HINTS;

export class ControllerError extends AmbitError<ControllerErrorCode> {}

export const ctlError = defineErrors(ControllerError, HINTS);
