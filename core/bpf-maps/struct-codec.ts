// The codec shape every map key and value uses: a C type name, its size, the field layout
// (checked against the compiled objects' BTF in btf-layout.test.ts) and encode/decode between a
// plain TypeScript record and the bytes the kernel reads. Pure.

/** One C struct member: name, byte offset, byte size, byte order as the header comment states. */
export interface FieldLayout {
  cName: string;
  offset: number;
  size: number;
  order: 'network' | 'host';
}

export interface Codec<T> {
  /** C type: `struct ambit_x` or a scalar typedef like `__u32`. */
  cType: string;
  size: number;
  /** Members for structs; empty for scalars. */
  fields: readonly FieldLayout[];
  encode(value: T, buf: Buffer): void;
  decode(buf: Buffer): T;
}

export const u32Codec: Codec<number> = {
  cType: '__u32',
  size: 4,
  fields: [],
  encode: (v, b) => void b.writeUInt32LE(v >>> 0, 0),
  decode: (b) => b.readUInt32LE(0),
};

export const u64Codec: Codec<bigint> = {
  cType: '__u64',
  size: 8,
  fields: [],
  encode: (v, b) => void b.writeBigUInt64LE(v, 0),
  decode: (b) => b.readBigUInt64LE(0),
};
