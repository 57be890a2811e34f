// EndpointSlice (discovery.k8s.io/v1): endpoints of a Service without selector; conditions
// ready/serving/terminating decide load balancing. The owning Service is the label
// kubernetes.io/service-name.
import { isIP } from 'node:net';
import { z } from 'zod';
import { objectMeta } from './object-meta.js';
import { dnsLabel, portNumber } from './values.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

const endpoint = z.looseObject({
  // checked against the slice's addressType below: a cluster's FQDN slices carry DNS names
  addresses: z.array(z.string().min(1)).min(1, 'needs at least one address'),
  conditions: z
    .looseObject({
      ready: z.boolean().optional(),
      serving: z.boolean().optional(),
      terminating: z.boolean().optional(),
    })
    .optional(),
  nodeName: z.string().optional(),
  targetRef: z
    .looseObject({
      kind: z.string().optional(),
      name: z.string(),
      namespace: z.string().optional(),
      uid: z.string().optional(),
    })
    .optional(),
});

export const endpointSliceSchema = z
  .looseObject({
    apiVersion: z.literal('discovery.k8s.io/v1'),
    kind: z.literal('EndpointSlice'),
    metadata: objectMeta,
    addressType: z.enum(['IPv4', 'IPv6', 'FQDN']),
    endpoints: z.array(endpoint).optional(),
    ports: z
      .array(
        z.looseObject({
          name: z.union([z.literal(''), dnsLabel]).optional(),
          port: portNumber.optional(),
          protocol: z.enum(['TCP', 'UDP', 'SCTP']).optional(),
          appProtocol: z.string().optional(),
        }),
      )
      .optional(),
  })
  .superRefine((slice, ctx) => {
    const family = slice.addressType === 'IPv4' ? 4 : slice.addressType === 'IPv6' ? 6 : 0;
    if (family !== 0) {
      (slice.endpoints ?? []).forEach((e, i) =>
        e.addresses.forEach((a, j) => {
          if (isIP(a) !== family) {
            ctx.addIssue({
              code: 'custom',
              path: ['endpoints', i, 'addresses', j],
              message: `must be an ${slice.addressType} address (addressType ${slice.addressType})`,
            });
          }
        }),
      );
    }
    if (!slice.metadata.labels?.[SERVICE_NAME_LABEL]) {
      ctx.addIssue({
        code: 'custom',
        path: ['metadata', 'labels', SERVICE_NAME_LABEL],
        message: 'required: names the Service these endpoints belong to',
      });
    }
  });
export type EndpointSlice = z.infer<typeof endpointSliceSchema>;
