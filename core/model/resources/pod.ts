// Pod (v1): placement (spec.nodeName), identity (serviceAccountName), addresses (status.podIP(s)),
// readiness (Ready condition), QoS class (status.qosClass: names the pod cgroup) and container
// port names. Other Pod fields pass untouched.
import { z } from 'zod';
import { objectMeta } from './object-meta.js';
import { dnsLabel, dnsSubdomain, ipAddress, portNumber } from './values.js';

const containerPort = z.looseObject({
  name: z.string().max(15, 'must be at most 15 characters').optional(),
  containerPort: portNumber,
  protocol: z.enum(['TCP', 'UDP', 'SCTP']).optional(),
});

const container = z.looseObject({
  name: dnsLabel,
  image: z.string().optional(),
  ports: z.array(containerPort).optional(),
});

const podCondition = z.looseObject({
  type: z.string().min(1, 'must not be empty'),
  status: z.enum(['True', 'False', 'Unknown']),
});

export const podSchema = z.looseObject({
  apiVersion: z.literal('v1'),
  kind: z.literal('Pod'),
  metadata: objectMeta,
  spec: z
    .looseObject({
      nodeName: dnsSubdomain.optional(),
      serviceAccountName: dnsSubdomain.optional(),
      serviceAccount: dnsSubdomain.optional(),
      hostNetwork: z.boolean().optional(),
      containers: z.array(container).optional(),
    })
    .optional(),
  status: z
    .looseObject({
      phase: z.enum(['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown']).optional(),
      podIP: ipAddress.optional(),
      podIPs: z.array(z.looseObject({ ip: ipAddress })).optional(),
      conditions: z.array(podCondition).optional(),
      qosClass: z.enum(['Guaranteed', 'Burstable', 'BestEffort']).optional(),
    })
    .optional(),
});
export type Pod = z.infer<typeof podSchema>;
