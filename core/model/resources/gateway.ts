// Gateway (gateway.networking.k8s.io/v1). Class ambit-waypoint makes it a waypoint, which must have
// exactly the listener {name: mesh, port: 15008, protocol: HBONE} (DESIGN.md §6).
import { z } from 'zod';
import { objectMeta } from './object-meta.js';
import { dnsLabel, portNumber } from './values.js';

export const WAYPOINT_CLASS = 'ambit-waypoint';
export const WAYPOINT_FOR_LABEL = 'ambit.dev/waypoint-for';
export const WAYPOINT_FOR_VALUES = ['service', 'workload', 'all', 'none'] as const;

const listener = z.looseObject({
  name: dnsLabel,
  port: portNumber,
  protocol: z.string().min(1, 'must not be empty'),
  hostname: z.string().optional(),
});

export const gatewaySchema = z
  .looseObject({
    apiVersion: z.enum(['gateway.networking.k8s.io/v1', 'gateway.networking.k8s.io/v1beta1']),
    kind: z.literal('Gateway'),
    metadata: objectMeta,
    spec: z.looseObject({
      gatewayClassName: z.string().min(1, 'must not be empty'),
      listeners: z.array(listener).min(1, 'needs at least one listener'),
    }),
  })
  .superRefine((gw, ctx) => {
    if (gw.spec.gatewayClassName !== WAYPOINT_CLASS) return;
    const [only, ...more] = gw.spec.listeners;
    const ok =
      only !== undefined &&
      more.length === 0 &&
      only.name === 'mesh' &&
      only.port === 15008 &&
      only.protocol === 'HBONE';
    if (!ok) {
      ctx.addIssue({
        code: 'custom',
        path: ['spec', 'listeners'],
        message:
          'a Gateway of class ambit-waypoint must have exactly the listener {name: mesh, port: 15008, protocol: HBONE}',
      });
    }
    const forValue = gw.metadata.labels?.[WAYPOINT_FOR_LABEL];
    if (forValue !== undefined && !(WAYPOINT_FOR_VALUES as readonly string[]).includes(forValue)) {
      ctx.addIssue({
        code: 'custom',
        path: ['metadata', 'labels', WAYPOINT_FOR_LABEL],
        message: `must be one of ${WAYPOINT_FOR_VALUES.join(', ')}`,
      });
    }
  });
export type Gateway = z.infer<typeof gatewaySchema>;
