// What the commands that ask a running controller (`ambit status`, `config dump`, `describe`,
// `token`) share: the -o check and a quiet grpc-js.
import * as grpc from '@grpc/grpc-js';
import { cliError } from './errors.js';

export function checkOutput(output: string, allowed: readonly string[]): void {
  if (!allowed.includes(output)) {
    throw cliError('CLI_BAD_OUTPUT', `-o ${output} is not supported here: use ${allowed.join(' or ')}`);
  }
}

/** Failures are reported once by run-action.ts; grpc-js must not print its own lines too. */
export function quietGrpc(): void {
  grpc.setLogVerbosity(grpc.logVerbosity.NONE);
}
