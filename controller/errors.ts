// Controller errors: a stable CTL_* code and its operator hint, declared once in the table below
// (core/errors.ts defineErrors); throw sites give the message and chain the cause.
import { AmbitError, defineErrors } from '../core/errors.js';

const HINTS = {
  CTL_CONFIG_DIR: undefined,
  CTL_KUBECONFIG_NOT_BUILT: 'use --config DIR (the embedded directory store)',
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
