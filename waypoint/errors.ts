// The waypoint's errors: every failure an operator may see, each with a stable WP_* code and a
// hint, declared once (core/errors.ts defineErrors). The request path never throws these to a
// client: it answers with a status and a response flag; the process wiring and upstream dials do.
import { AmbitError, defineErrors } from '../core/errors.js';

export const HINTS = {
  WP_BAD_NAME: 'give --name as <namespace>/<gateway>, the waypoint Gateway of class ambit-waypoint',
  WP_NOT_IN_STATE:
    'the Gateway named by --name is not in the mesh state (or has no identity yet); check `ambit status`',
  WP_LISTEN: 'another process holds the port, or the address is not on this host',
  WP_UPSTREAM_CONNECT:
    'the HBONE tunnel to the endpoint could not be opened (node unreachable, or it refused)',
  WP_UPSTREAM_NODE: 'the endpoint runs on a node that is not in the mesh state the waypoint holds',
  WP_BAD_FLAG: 'see `ambit waypoint --help`',
} as const;

export type WaypointErrorCode = keyof typeof HINTS;

export class WaypointError extends AmbitError<WaypointErrorCode> {}

/** `wpError(code, message, cause?)`: the waypoint's error for `code`, with the table's hint. */
export const wpError = defineErrors(WaypointError, HINTS);
