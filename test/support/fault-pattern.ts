// The byte stream the fault load generator sends and expects back, so every echoed byte is checked
// against what was sent (a dropped, duplicated or reordered byte shifts everything after it and
// shows as a mismatch). Pure: one fixed pseudo-random block, read from a per-connection offset.

/** A prime length, so no power-of-two chunking lines the stream up with the block. */
const BLOCK_LENGTH = 65_521;

function makeBlock(): Buffer {
  const b = Buffer.alloc(BLOCK_LENGTH);
  let x = 0x9e3779b9;
  for (let i = 0; i < BLOCK_LENGTH; i++) {
    // xorshift32: fixed, so the host and the pod agree without sharing anything
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

const BLOCK = makeBlock();

/** `length` bytes of connection `seed`'s stream starting at byte `offset`. */
export function patternSlice(seed: number, offset: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let at = (offset + seed * 7919) % BLOCK_LENGTH;
  let filled = 0;
  while (filled < length) {
    const n = Math.min(length - filled, BLOCK_LENGTH - at);
    BLOCK.copy(out, filled, at, at + n);
    filled += n;
    at = 0;
  }
  return out;
}

/** How many leading bytes of `got` match connection `seed`'s stream at `offset` (got.length when all). */
export function matchingPrefix(seed: number, offset: number, got: Buffer): number {
  const want = patternSlice(seed, offset, got.length);
  if (want.equals(got)) return got.length;
  for (let i = 0; i < got.length; i++) if (got[i] !== want[i]) return i;
  return got.length;
}
