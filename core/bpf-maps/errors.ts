// Errors of the bpf-maps layer: a failed bpf(2) call names the command, the map and the errno,
// with a hint for the operator (core/errors.ts defineErrors). A hint that depends on the errno
// is given at the throw site; the table holds the rest.
import { AmbitError, defineErrors } from '../errors.js';

const HINTS = {
  BPF_SYSCALL: undefined,
  BPF_NOT_PINNED: 'is the ambit agent running on this node (it pins the maps)?',
  BPF_LAYOUT: undefined,
  BPF_BAD_ADDRESS: undefined,
  BPF_BAD_NODE: undefined,
} as const;

export type BpfErrorCode = keyof typeof HINTS;

export class BpfError extends AmbitError<BpfErrorCode> {}

export const bpfError = defineErrors(BpfError, HINTS);

const ERRNO_NAMES: Record<number, string> = {
  1: 'EPERM',
  38: 'ENOSYS',
  2: 'ENOENT',
  7: 'E2BIG',
  9: 'EBADF',
  12: 'ENOMEM',
  13: 'EACCES',
  14: 'EFAULT',
  17: 'EEXIST',
  22: 'EINVAL',
  28: 'ENOSPC',
};

export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `errno ${errno}`;
}
