// Errors of the discovery and inspection clients: a subscription the controller refuses or that
// is closed before its first snapshot (DISC_*), and the CLI's unary calls to the controller
// (CLI_CONTROLLER_*). One table of codes and hints (core/errors.ts defineErrors).
import { AmbitError, defineErrors } from '../errors.js';

const HINTS = {
  DISC_BAD_SUBSCRIBER: undefined,
  DISC_CLOSED: undefined,
  DISC_REFUSED: undefined,
  DISC_INVALID_PUSH:
    'the controller sent records this subscriber cannot decode (a version mismatch?); it keeps its last applied state',
  CLI_CONTROLLER_UNREACHABLE: 'is `ambit controller` running with this --listen address?',
  CLI_CONTROLLER_REFUSED: undefined,
} as const;

export type DiscoveryErrorCode = keyof typeof HINTS;

export class DiscoveryError extends AmbitError<DiscoveryErrorCode> {}

export const discoveryError = defineErrors(DiscoveryError, HINTS);
