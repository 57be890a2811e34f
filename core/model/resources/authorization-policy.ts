// AuthorizationPolicy (security.ambit.dev/v1) with the fields of Istio's security.istio.io/v1, so
// policies port by changing apiVersion. Typos in field names are errors (strict objects): a
// misspelt rule field would otherwise widen or narrow a policy silently.
import { z } from 'zod';
import { objectMeta } from './object-meta.js';
import { cidr, labelMap } from './values.js';

const portString = z
  .string()
  .regex(/^([1-9][0-9]{0,4})$/, 'must be a port number 1-65535 as a string')
  .refine((s) => Number(s) <= 65535, 'must be a port number 1-65535 as a string');

const source = z.strictObject({
  principals: z.array(z.string()).optional(),
  notPrincipals: z.array(z.string()).optional(),
  requestPrincipals: z.array(z.string()).optional(),
  notRequestPrincipals: z.array(z.string()).optional(),
  namespaces: z.array(z.string()).optional(),
  notNamespaces: z.array(z.string()).optional(),
  ipBlocks: z.array(cidr).optional(),
  notIpBlocks: z.array(cidr).optional(),
  remoteIpBlocks: z.array(cidr).optional(),
  notRemoteIpBlocks: z.array(cidr).optional(),
});

const operation = z.strictObject({
  hosts: z.array(z.string()).optional(),
  notHosts: z.array(z.string()).optional(),
  ports: z.array(portString).optional(),
  notPorts: z.array(portString).optional(),
  methods: z.array(z.string()).optional(),
  notMethods: z.array(z.string()).optional(),
  paths: z.array(z.string()).optional(),
  notPaths: z.array(z.string()).optional(),
});

const rule = z.strictObject({
  from: z.array(z.strictObject({ source })).optional(),
  to: z.array(z.strictObject({ operation })).optional(),
  when: z
    .array(
      z.strictObject({
        key: z.string().min(1, 'must not be empty'),
        values: z.array(z.string()).optional(),
        notValues: z.array(z.string()).optional(),
      }),
    )
    .optional(),
});

export const policyTargetRef = z.strictObject({
  group: z.string(),
  kind: z.string().min(1, 'must not be empty'),
  name: z.string().min(1, 'must not be empty'),
  namespace: z.string().optional(),
});
export type PolicyTargetRef = z.infer<typeof policyTargetRef>;

export const workloadSelector = z.strictObject({ matchLabels: labelMap.optional() });

export const authorizationPolicySchema = z.looseObject({
  apiVersion: z.literal('security.ambit.dev/v1'),
  kind: z.literal('AuthorizationPolicy'),
  metadata: objectMeta,
  spec: z
    .strictObject({
      selector: workloadSelector.optional(),
      targetRef: policyTargetRef.optional(),
      targetRefs: z.array(policyTargetRef).optional(),
      action: z.enum(['ALLOW', 'DENY', 'AUDIT', 'CUSTOM']).optional(),
      provider: z.strictObject({ name: z.string() }).optional(),
      rules: z.array(rule).optional(),
    })
    .superRefine((spec, ctx) => {
      const hasTargets = spec.targetRef !== undefined || (spec.targetRefs?.length ?? 0) > 0;
      if (spec.selector && hasTargets) {
        ctx.addIssue({
          code: 'custom',
          path: ['selector'],
          message: 'selector and targetRefs are mutually exclusive',
        });
      }
      if (spec.targetRef && spec.targetRefs) {
        ctx.addIssue({
          code: 'custom',
          path: ['targetRef'],
          message: 'use targetRef or targetRefs, not both',
        });
      }
      if (spec.action === 'CUSTOM' && !spec.provider) {
        ctx.addIssue({ code: 'custom', path: ['provider'], message: 'required when action is CUSTOM' });
      }
    })
    .optional(),
});
export type AuthorizationPolicy = z.infer<typeof authorizationPolicySchema>;
