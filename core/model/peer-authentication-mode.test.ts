import { describe, expect, it } from 'vitest';
import type { MeshPeerAuthentication } from './mesh.js';
import { effectiveMtlsMode } from './peer-authentication-mode.js';

const pa = (
  p: Partial<MeshPeerAuthentication> & Pick<MeshPeerAuthentication, 'namespace' | 'name'>,
): MeshPeerAuthentication => ({
  mode: 'UNSET',
  portLevelMtls: {},
  meshWide: false,
  ...p,
});
const w = { namespace: 'shop', labels: { app: 'cart' } };

describe('effectiveMtlsMode', () => {
  it.each([
    { description: 'nothing set is PERMISSIVE', pas: [], want: 'PERMISSIVE' },
    {
      description: 'mesh-wide STRICT applies',
      pas: [pa({ namespace: 'ambit-system', name: 'default', mode: 'STRICT', meshWide: true })],
      want: 'STRICT',
    },
    {
      description: 'namespace beats mesh-wide',
      pas: [
        pa({ namespace: 'ambit-system', name: 'default', mode: 'STRICT', meshWide: true }),
        pa({ namespace: 'shop', name: 'ns', mode: 'PERMISSIVE' }),
      ],
      want: 'PERMISSIVE',
    },
    {
      description: 'selector beats namespace',
      pas: [
        pa({ namespace: 'shop', name: 'ns', mode: 'PERMISSIVE' }),
        pa({ namespace: 'shop', name: 'cart', mode: 'STRICT', selector: { app: 'cart' } }),
      ],
      want: 'STRICT',
    },
    {
      description: 'a selector that does not match is ignored',
      pas: [pa({ namespace: 'shop', name: 'x', mode: 'STRICT', selector: { app: 'other' } })],
      want: 'PERMISSIVE',
    },
    {
      description: 'UNSET inherits from the namespace',
      pas: [
        pa({ namespace: 'shop', name: 'ns', mode: 'STRICT' }),
        pa({ namespace: 'shop', name: 'cart', mode: 'UNSET', selector: { app: 'cart' } }),
      ],
      want: 'STRICT',
    },
    {
      description: 'another namespace does not apply',
      pas: [pa({ namespace: 'other', name: 'ns', mode: 'STRICT' })],
      want: 'PERMISSIVE',
    },
  ])('$description', ({ pas, want }) => {
    expect(effectiveMtlsMode(pas, w)).toBe(want);
  });

  it('port-level mode overrides the policy mode for that port only', () => {
    const pas = [
      pa({
        namespace: 'shop',
        name: 'cart',
        mode: 'STRICT',
        selector: { app: 'cart' },
        portLevelMtls: { '8080': 'PERMISSIVE' },
      }),
    ];
    expect(effectiveMtlsMode(pas, w, 8080)).toBe('PERMISSIVE');
    expect(effectiveMtlsMode(pas, w, 9090)).toBe('STRICT');
  });
});
