// Node (v1): the mesh needs its InternalIP (where the node's ztunnel listens); pod CIDRs are checked when given.
import { z } from 'zod';
import { objectMeta } from './object-meta.js';
import { cidr, ipAddress } from './values.js';

const nodeAddress = z.looseObject({
  type: z.enum(['InternalIP', 'ExternalIP', 'Hostname', 'InternalDNS', 'ExternalDNS']),
  address: z.string().min(1, 'must not be empty'),
});

export const nodeSchema = z
  .looseObject({
    apiVersion: z.literal('v1'),
    kind: z.literal('Node'),
    metadata: objectMeta,
    spec: z.looseObject({ podCIDR: cidr.optional(), podCIDRs: z.array(cidr).optional() }).optional(),
    status: z.looseObject({ addresses: z.array(nodeAddress).optional() }).optional(),
  })
  .superRefine((node, ctx) => {
    const addresses = node.status?.addresses ?? [];
    const internal = addresses.findIndex((a) => a.type === 'InternalIP');
    if (internal < 0) {
      ctx.addIssue({ code: 'custom', path: ['status', 'addresses'], message: 'needs an InternalIP address' });
    }
    addresses.forEach((a, i) => {
      if ((a.type === 'InternalIP' || a.type === 'ExternalIP') && !ipAddress.safeParse(a.address).success) {
        ctx.addIssue({
          code: 'custom',
          path: ['status', 'addresses', i, 'address'],
          message: 'must be an IPv4 or IPv6 address',
        });
      }
    });
  });
export type Node = z.infer<typeof nodeSchema>;
