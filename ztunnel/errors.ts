// The ztunnel's errors: every failure an operator may see, each with a stable ZT_* code and a
// hint, declared once in the table below (core/errors.ts defineErrors). Data-path decisions never
// throw these (they return results); the process wiring and the HBONE client/server do.
import { AmbitError, defineErrors } from '../core/errors.js';

export const HINTS = {
  ZT_NO_NODE: 'the Node named by --node is not in the mesh state yet; check `ambit status`',
  ZT_NO_NODE_CERT:
    'a controller call came before the node certificate it presents was bootstrapped (ControlPlane.nodeCertificate first): a bug in the caller',
  ZT_PEER_IDENTITY: 'the HBONE server presented another identity than discovery says serves the destination',
  ZT_HBONE_CONNECT:
    'could not reach the destination HBONE port 15008; maybe a firewall or NetworkPolicy blocks it',
  ZT_UPSTREAM_CONNECT: 'the destination pod did not accept the connection within 10 s',
  ZT_LISTEN: 'another process holds the port, or the address is not on this host',
  ZT_BAD_FLAG: 'see `ambit ztunnel --help`',
  ZT_WORKER_START: "the worker's own cause follows; the same error with --workers 1 shows it directly",
  ZT_HBONE_TLS:
    'the mTLS handshake with the HBONE server failed; check that both sides trust the same mesh CA and trust domain',
  ZT_TUNNEL_REQUEST:
    'the pooled HBONE connection would not take a new stream (it was closing); the next connection opens a fresh one',
  ZT_TUNNEL_REFUSED:
    'the HBONE server answered the CONNECT with a non-200 status: 401 is policy, 503 an unknown or unreachable destination',
  ZT_TUNNEL_RESET: 'the HBONE stream ended before the server answered the CONNECT',
} as const;

export type ZtunnelErrorCode = keyof typeof HINTS;

export class ZtunnelError extends AmbitError<ZtunnelErrorCode> {}

/** `ztError(code, message, cause?)`: the ztunnel's error for `code`, with the table's hint. */
export const ztError = defineErrors(ZtunnelError, HINTS);
