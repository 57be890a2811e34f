// Key pairs for workload, node and CA certificates, made by Node's native WebCrypto. The key type
// is one setting (ECDSA P-256 by default, as Istio's ztunnel; RSA-2048 kept for comparison and for
// operator-supplied RSA roots): see bench/tls-keys for the handshake cost of each.
import { webcrypto } from 'node:crypto';

export type KeyType = 'ec-p256' | 'rsa-2048';
export const DEFAULT_KEY_TYPE: KeyType = 'ec-p256';

export interface KeyAlgorithms {
  generate: webcrypto.EcKeyGenParams | webcrypto.RsaHashedKeyGenParams;
  sign: webcrypto.EcdsaParams | webcrypto.Algorithm;
}

export function algorithmsFor(type: KeyType): KeyAlgorithms {
  switch (type) {
    case 'ec-p256':
      return { generate: { name: 'ECDSA', namedCurve: 'P-256' }, sign: { name: 'ECDSA', hash: 'SHA-256' } };
    case 'rsa-2048':
      return {
        generate: {
          name: 'RSASSA-PKCS1-v1_5',
          modulusLength: 2048,
          publicExponent: new Uint8Array([1, 0, 1]),
          hash: 'SHA-256',
        },
        sign: { name: 'RSASSA-PKCS1-v1_5' },
      };
    default: {
      const never: never = type;
      throw new Error(`unknown key type ${String(never)}`);
    }
  }
}

export interface GeneratedKey {
  type: KeyType;
  keys: webcrypto.CryptoKeyPair;
  /** PKCS#8 PEM, for node:tls */
  privateKeyPem: string;
}

export async function generateKey(type: KeyType = DEFAULT_KEY_TYPE): Promise<GeneratedKey> {
  const keys = await webcrypto.subtle.generateKey(algorithmsFor(type).generate, true, ['sign', 'verify']);
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { type, keys, privateKeyPem: toPem(Buffer.from(pkcs8), 'PRIVATE KEY') };
}

/** Imports a PKCS#8 PEM private key (EC P-256 or RSA) and its public half for signing with @peculiar/x509. */
export async function importKey(privateKeyPem: string): Promise<GeneratedKey> {
  const { createPrivateKey, createPublicKey } = await import('node:crypto');
  const priv = createPrivateKey(privateKeyPem);
  const type: KeyType = priv.asymmetricKeyType === 'ec' ? 'ec-p256' : 'rsa-2048';
  const alg = algorithmsFor(type).generate;
  const pkcs8 = priv.export({ format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(priv).export({ format: 'der', type: 'spki' });
  const privateKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, alg, true, ['sign']);
  const publicKey = await webcrypto.subtle.importKey('spki', spki, alg, true, ['verify']);
  return {
    type,
    keys: { privateKey, publicKey },
    privateKeyPem: toPem(pkcs8, 'PRIVATE KEY'),
  };
}

export function toPem(der: Buffer, label: string): string {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN ${label}-----\n${b64.replace(/\n$/, '')}\n-----END ${label}-----\n`;
}
