// Attaching an sk_lookup program to a network namespace: BPF_LINK_CREATE with the netns fd as
// target (bpftool 7.1 cannot make this link). The returned link fd is the attachment: closing it
// (or the process exiting) detaches the program, so whoever holds it decides how long the
// steering lasts. Also the bare fd helpers the in-pod capture needs (BPF_OBJ_GET of a program).
import koffi from 'koffi';
import { allocNative, bpfSyscall, objGet } from './bpf-syscall.js';
import { bpfError, errnoName } from './errors.js';
import { progPinPath } from './pin-paths.js';

export { closeFd } from './bpf-syscall.js';

const BPF_LINK_CREATE = 28;
/** enum bpf_attach_type BPF_SK_LOOKUP (uapi linux/bpf.h) */
export const BPF_SK_LOOKUP = 36;
const ATTR_SIZE = 128;

/** Pin name of the sk_lookup program under /sys/fs/bpf/ambit/<node>/progs/. */
export const SK_LOOKUP_PROG = 'sk_lookup';

/** An fd for node's pinned sk_lookup program (BPF_NOT_PINNED until the agent has loaded it). */
export function openSkLookupProgram(node: string): number {
  return objGet(progPinPath(node, SK_LOOKUP_PROG));
}

/** BPF_LINK_CREATE(prog, netns, BPF_SK_LOOKUP): the link fd. `what` names the netns in errors. */
export function attachSkLookup(progFd: number, netnsFd: number, what: string): number {
  const attr = allocNative(ATTR_SIZE);
  attr.buf.writeUInt32LE(progFd, 0);
  attr.buf.writeUInt32LE(netnsFd, 4);
  attr.buf.writeUInt32LE(BPF_SK_LOOKUP, 8);
  const fd = bpfSyscall(BPF_LINK_CREATE, attr.ptr, ATTR_SIZE);
  if (fd < 0) {
    const errno = koffi.errno();
    throw bpfError('BPF_SYSCALL', `bpf(BPF_LINK_CREATE sk_lookup) on ${what} failed: ${errnoName(errno)}`);
  }
  return fd;
}
