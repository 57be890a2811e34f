// The one koffi binding of bpf(2) in Ambit: BPF_OBJ_GET and the map element commands, for the
// hot path (the ztunnel's original-destination lookup) and the agent's map writes. Loading and
// attaching programs is not here: that is rare and done with the bpftool CLI.
//
// Why koffi and not ffi-napi: ffi-napi does not build or exit cleanly on Node 20 and costs
// ~33 µs per call; koffi ships prebuilt binaries and one map lookup costs ~1 µs (KERNEL-NOTES).
// glibc's syscall() is variadic; we declare it with fixed integer arguments, which on x86_64 and
// aarch64 passes them in the same registers and saves koffi's variadic marshalling (~0.75 µs
// instead of ~0.9 µs per lookup, measured here).
import koffi from 'koffi';
import { bpfError, errnoName, type BpfError } from './errors.js';

const SYS_BPF: Record<string, number> = { x64: 321, arm64: 280 };

export const BPF_MAP_LOOKUP_ELEM = 1;
export const BPF_MAP_UPDATE_ELEM = 2;
export const BPF_MAP_DELETE_ELEM = 3;
export const BPF_MAP_GET_NEXT_KEY = 4;
export const BPF_OBJ_GET = 7;

export const BPF_ANY = 0n;

const ATTR_SIZE = 128; // larger than any union member we use; the kernel zero-checks the tail
const ENOENT = 2;

/** Native memory with a stable address and a Buffer view on it. */
export interface NativeBuffer {
  readonly ptr: unknown;
  readonly address: bigint;
  readonly buf: Buffer;
}

export function allocNative(size: number): NativeBuffer {
  const ptr = koffi.alloc('uint8_t', size);
  const buf = Buffer.from(koffi.view(ptr, size));
  buf.fill(0);
  return { ptr, address: koffi.address(ptr), buf };
}

type SyscallFn = (nr: number, cmd: number, attr: unknown, size: number) => number | bigint;

let cached: { syscall: SyscallFn; close: (fd: number) => number; nr: number } | undefined;

function libc(): NonNullable<typeof cached> {
  if (cached) return cached;
  const nr = SYS_BPF[process.arch];
  if (nr === undefined) {
    throw bpfError('BPF_SYSCALL', `bpf(2) syscall number unknown for ${process.arch}`);
  }
  const lib = koffi.load('libc.so.6');
  cached = {
    nr,
    syscall: lib.func('long syscall(long nr, long cmd, void *attr, unsigned long size)') as SyscallFn,
    close: lib.func('int close(int fd)') as (fd: number) => number,
  };
  return cached;
}

/** bpf(2) with `cmd` and an attr of `size` bytes at `attr` (a NativeBuffer's ptr): its raw result. */
export function bpfSyscall(cmd: number, attr: unknown, size: number): number {
  const { syscall, nr } = libc();
  return Number(syscall(nr, cmd, attr, size));
}

/** close(2) of an fd this module or its callers got from bpf(2); a negative fd is ignored. */
export function closeFd(fd: number): void {
  if (fd >= 0) libc().close(fd);
}

/**
 * One open map fd plus its preallocated key/value/attr memory. Not thread-safe and not
 * re-entrant (Node runs it on one thread): each call reuses the same native buffers.
 */
export class BpfMapHandle {
  readonly key: NativeBuffer;
  readonly value: NativeBuffer;
  readonly nextKey: NativeBuffer;
  private readonly attr = allocNative(ATTR_SIZE);
  private fd: number;
  /** What the attr currently holds, so back-to-back lookups skip rewriting it (hot path). */
  private attrLayout = '';

  constructor(
    readonly pinPath: string,
    readonly keySize: number,
    readonly valueSize: number,
  ) {
    this.key = allocNative(keySize);
    this.value = allocNative(valueSize);
    this.nextKey = allocNative(keySize);
    this.fd = objGet(pinPath);
  }

  /** true and this.value filled when the key (in this.key) exists. */
  lookup(): boolean {
    return this.elemCall(BPF_MAP_LOOKUP_ELEM, this.value.address, 0n, true);
  }

  /** Writes this.key -> this.value. */
  update(flags: bigint = BPF_ANY): void {
    this.elemCall(BPF_MAP_UPDATE_ELEM, this.value.address, flags, false);
  }

  /** false when the key was absent. */
  delete(): boolean {
    return this.elemCall(BPF_MAP_DELETE_ELEM, 0n, 0n, true);
  }

  /** Moves to the key after this.key (first key when `first`); false at the end. */
  advance(first: boolean): boolean {
    const a = this.prepare();
    a.writeBigUInt64LE(first ? 0n : this.key.address, 8);
    a.writeBigUInt64LE(this.nextKey.address, 16);
    const rc = this.call(BPF_MAP_GET_NEXT_KEY);
    if (rc < 0) {
      const errno = koffi.errno();
      if (errno === ENOENT) return false;
      throw this.error('BPF_MAP_GET_NEXT_KEY', errno);
    }
    this.nextKey.buf.copy(this.key.buf);
    return true;
  }

  close(): void {
    if (this.fd >= 0) {
      libc().close(this.fd);
      this.fd = -1;
    }
  }

  private prepare(): Buffer {
    if (this.fd < 0) throw bpfError('BPF_SYSCALL', `map ${this.pinPath} is closed`);
    this.attrLayout = '';
    const a = this.attr.buf;
    a.fill(0, 0, 32);
    a.writeUInt32LE(this.fd, 0);
    return a;
  }

  private elemCall(cmd: number, valueAddr: bigint, flags: bigint, enoentIsFalse: boolean): boolean {
    const layout = `${valueAddr}/${flags}`;
    if (layout !== this.attrLayout) {
      const a = this.prepare();
      a.writeBigUInt64LE(this.key.address, 8);
      a.writeBigUInt64LE(valueAddr, 16);
      a.writeBigUInt64LE(flags, 24);
      this.attrLayout = layout;
    }
    if (this.call(cmd) >= 0) return true;
    const errno = koffi.errno();
    if (enoentIsFalse && errno === ENOENT) return false;
    throw this.error(CMD_NAMES[cmd] ?? String(cmd), errno);
  }

  private call(cmd: number): number {
    const { syscall, nr } = libc();
    return Number(syscall(nr, cmd, this.attr.ptr, ATTR_SIZE));
  }

  private error(cmd: string, errno: number): BpfError {
    const hint = errno === 1 ? 'needs root (CAP_BPF and CAP_NET_ADMIN)' : undefined;
    return bpfError(
      'BPF_SYSCALL',
      `bpf(${cmd}) on ${this.pinPath} failed: ${errnoName(errno)}`,
      undefined,
      hint,
    );
  }
}

const CMD_NAMES: Record<number, string> = {
  [BPF_MAP_LOOKUP_ELEM]: 'BPF_MAP_LOOKUP_ELEM',
  [BPF_MAP_UPDATE_ELEM]: 'BPF_MAP_UPDATE_ELEM',
  [BPF_MAP_DELETE_ELEM]: 'BPF_MAP_DELETE_ELEM',
};

/** BPF_OBJ_GET: an fd for a pinned map or program. */
export function objGet(pinPath: string): number {
  const attr = allocNative(ATTR_SIZE);
  const path = allocNative(Buffer.byteLength(pinPath) + 1);
  path.buf.write(pinPath, 0, 'utf8');
  attr.buf.writeBigUInt64LE(path.address, 0);
  const { syscall, nr } = libc();
  const fd = Number(syscall(nr, BPF_OBJ_GET, attr.ptr, ATTR_SIZE));
  if (fd < 0) {
    const errno = koffi.errno();
    const message = `bpf(BPF_OBJ_GET) ${pinPath} failed: ${errnoName(errno)}`;
    if (errno === ENOENT) throw bpfError('BPF_NOT_PINNED', message);
    throw bpfError('BPF_SYSCALL', message, undefined, errno === 1 ? 'needs root (CAP_BPF)' : undefined);
  }
  return fd;
}

const BPF_PROG_GET_NEXT_ID = 11;

/**
 * Whether this process can use bpf(2): asks for the first program id (ENOENT, "no programs",
 * also means yes). Returns the errno name when it cannot (ENOSYS: kernel without BPF; EPERM:
 * not privileged).
 */
export function probeBpfSyscall(): { ok: true } | { ok: false; errno: string } {
  const attr = allocNative(ATTR_SIZE);
  const { syscall, nr } = libc();
  if (Number(syscall(nr, BPF_PROG_GET_NEXT_ID, attr.ptr, ATTR_SIZE)) >= 0) return { ok: true };
  const errno = koffi.errno();
  return errno === ENOENT ? { ok: true } : { ok: false, errno: errnoName(errno) };
}
