// Errors of the local cluster (`ambit demo`, the e2e suites): a machine that cannot host it
// (LC_*), each with a hint saying what to install or how to run. One table of codes and hints
// (core/errors.ts defineErrors).
import { AmbitError, defineErrors } from '../core/errors.js';

const HINTS = {
  LC_NOT_ROOT: 'run it with sudo',
  LC_NO_CGROUP2: undefined,
  LC_NO_BPF: 'needs CONFIG_BPF_SYSCALL and CONFIG_CGROUP_BPF (Linux >= 5.8) and CAP_BPF + CAP_NET_ADMIN',
  LC_NO_TOOL: 'npm run setup installs it',
  LC_NO_BPF_OBJECTS: 'install clang and libbpf-dev (npm run setup)',
} as const;

export type LocalClusterErrorCode = keyof typeof HINTS;

export class LocalClusterError extends AmbitError<LocalClusterErrorCode> {}

export const clusterError = defineErrors(LocalClusterError, HINTS);
