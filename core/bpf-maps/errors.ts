// Errors of the bpf-maps layer: a failed bpf(2) call names the command, the map and the errno,
// with a hint for the operator. Codes: BPF_SYSCALL, BPF_NOT_PINNED, BPF_LAYOUT.
import { AmbitError } from '../errors.js';

export class BpfError extends AmbitError {}

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
