// Service (v1): selector, cluster IPs (VIPs) and ports. Port names must be unique and set when there
// are several ports (Kubernetes' rule).
import { isIP } from 'node:net';
import { z } from 'zod';
import { labelNamedMeta } from './object-meta.js';
import { dnsLabel, labelMap, portNumber } from './values.js';

const clusterIp = z
  .string()
  .refine((s) => s === 'None' || s === '' || isIP(s) !== 0, 'must be an IPv4 or IPv6 address, or None');

const servicePort = z.looseObject({
  name: dnsLabel.optional(),
  port: portNumber,
  targetPort: z
    .union([portNumber, dnsLabel], { error: 'must be a port number 1-65535 or a port name' })
    .optional(),
  protocol: z.enum(['TCP', 'UDP', 'SCTP']).optional(),
  appProtocol: z.string().optional(),
  nodePort: portNumber.optional(),
});

export const serviceSchema = z.looseObject({
  apiVersion: z.literal('v1'),
  kind: z.literal('Service'),
  metadata: labelNamedMeta,
  spec: z
    .looseObject({
      type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName']).optional(),
      selector: labelMap.optional(),
      clusterIP: clusterIp.optional(),
      clusterIPs: z.array(clusterIp).optional(),
      ports: z.array(servicePort).optional(),
    })
    .superRefine((spec, ctx) => {
      const ports = spec.ports ?? [];
      const seen = new Map<string, number>();
      ports.forEach((p, i) => {
        if (ports.length > 1 && !p.name) {
          ctx.addIssue({
            code: 'custom',
            path: ['ports', i, 'name'],
            message: 'required when a Service has several ports',
          });
        }
        if (p.name !== undefined) {
          const first = seen.get(p.name);
          if (first !== undefined) {
            ctx.addIssue({
              code: 'custom',
              path: ['ports', i, 'name'],
              message: `duplicate port name "${p.name}" (also ports[${first}])`,
            });
          } else seen.set(p.name, i);
        }
      });
    }),
});
export type Service = z.infer<typeof serviceSchema>;
