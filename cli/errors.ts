// Errors of the `ambit` CLI itself (CLI_*): a flag or argument it cannot use, or a lookup that
// found nothing. One table of codes and hints (core/errors.ts defineErrors); the components'
// own errors come from their errors.ts.
import { AmbitError, defineErrors } from '../core/errors.js';

const HINTS = {
  CLI_BAD_OUTPUT: undefined,
  CLI_BAD_ARGUMENT: undefined,
  CLI_BAD_FLAG: undefined,
  CLI_NOT_FOUND: undefined,
} as const;

export type CliErrorCode = keyof typeof HINTS;

export class CliError extends AmbitError<CliErrorCode> {}

export const cliError = defineErrors(CliError, HINTS);
