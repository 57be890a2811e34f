// The ztunnel's errors: one class per failure an operator may see, each with a stable ZT_* code
// and a hint. Data-path decisions never throw these (they return results); the process wiring
// and the HBONE client/server do.
import { AmbitError } from '../core/errors.js';

export class ZtunnelError extends AmbitError {}

export type ZtunnelErrorCode =
  | 'ZT_NO_NODE'
  | 'ZT_PEER_IDENTITY'
  | 'ZT_HBONE_CONNECT'
  | 'ZT_UPSTREAM_CONNECT'
  | 'ZT_LISTEN'
  | 'ZT_BAD_FLAG'
  | 'ZT_WORKER_START';

export const HINTS: Record<ZtunnelErrorCode, string> = {
  ZT_NO_NODE: 'the Node named by --node is not in the mesh state yet; check `ambit status`',
  ZT_PEER_IDENTITY: 'the HBONE server presented another identity than discovery says serves the destination',
  ZT_HBONE_CONNECT:
    'could not reach the destination HBONE port 15008; maybe a firewall or NetworkPolicy blocks it',
  ZT_UPSTREAM_CONNECT: 'the destination pod did not accept the connection within 10 s',
  ZT_LISTEN: 'another process holds the port, or the address is not on this host',
  ZT_BAD_FLAG: 'see `ambit ztunnel --help`',
  ZT_WORKER_START: "the worker's own cause follows; the same error with --workers 1 shows it directly",
};

export function ztError(code: ZtunnelErrorCode, message: string, cause?: unknown): ZtunnelError {
  return new ZtunnelError(code, message, { cause, hint: HINTS[code] });
}
