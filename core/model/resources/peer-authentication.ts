// PeerAuthentication (security.ambit.dev/v1) with the fields of Istio's security.istio.io/v1.
import { z } from 'zod';
import { objectMeta } from './object-meta.js';
import { workloadSelector } from './authorization-policy.js';

const mtlsMode = z.enum(['UNSET', 'STRICT', 'PERMISSIVE', 'DISABLE']);

export const peerAuthenticationSchema = z.looseObject({
  apiVersion: z.literal('security.ambit.dev/v1'),
  kind: z.literal('PeerAuthentication'),
  metadata: objectMeta,
  spec: z
    .strictObject({
      selector: workloadSelector.optional(),
      mtls: z.strictObject({ mode: mtlsMode.optional() }).optional(),
      portLevelMtls: z.record(z.string(), z.strictObject({ mode: mtlsMode.optional() })).optional(),
    })
    .superRefine((spec, ctx) => {
      for (const port of Object.keys(spec.portLevelMtls ?? {})) {
        if (!/^[1-9][0-9]{0,4}$/.test(port) || Number(port) > 65535) {
          ctx.addIssue({
            code: 'custom',
            path: ['portLevelMtls', port],
            message: 'key must be a port number 1-65535',
          });
        }
      }
      if (spec.portLevelMtls && Object.keys(spec.selector?.matchLabels ?? {}).length === 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['portLevelMtls'],
          message: 'only allowed with a workload selector (as in Istio)',
        });
      }
    })
    .optional(),
});
export type PeerAuthentication = z.infer<typeof peerAuthenticationSchema>;
