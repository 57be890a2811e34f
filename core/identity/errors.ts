// Identity errors, both sides of the CA: the controller's CA refusing a root or a CSR (CA_*), a
// component asking for a certificate (CA_PERMISSION_DENIED, CA_REQUEST_FAILED, CA_WRONG_IDENTITY)
// and the state-dir files a component needs to reach the controller (ID_*). One table of codes
// and hints (core/errors.ts defineErrors).
import { AmbitError, defineErrors } from '../errors.js';

const HINTS = {
  CA_BAD_CERT: undefined,
  CA_BAD_KEY: undefined,
  CA_NOT_CA: undefined,
  CA_KEY_MISMATCH: undefined,
  CA_BAD_CSR: undefined,
  CA_IDENTITY_MISMATCH: undefined,
  CA_FOREIGN_TRUST_DOMAIN: undefined,
  CA_PERMISSION_DENIED: undefined,
  CA_REQUEST_FAILED: undefined,
  CA_WRONG_IDENTITY: undefined,
  CA_BAD_RESPONSE: undefined,
  TOKEN_REQUEST_FAILED:
    'the token service takes only the operator credential: the --state-dir of the controller',
  ID_NO_ROOT_CERT: 'start `ambit controller` with the same --state-dir first (it writes root-cert.pem)',
  ID_NO_JOIN_TOKEN: 'start `ambit controller` with the same --state-dir first (it writes join-token)',
  ID_NO_TOKEN_FILE:
    'create one with `ambit token create --node NAME` (or --waypoint NS/GATEWAY) and save it there',
} as const;

export type IdentityErrorCode = keyof typeof HINTS;

export class IdentityError extends AmbitError<IdentityErrorCode> {}

export const identityError = defineErrors(IdentityError, HINTS);
