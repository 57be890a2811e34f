// Shapes shared by HTTPRoute and GRPCRoute (Gateway API v1): parentRefs, backendRefs, header
// matches, filters, timeouts and retry. Semantic reference checks live in validate-references.ts.
import { z } from 'zod';
import { dnsLabel, duration, portNumber } from './values.js';

export const parentRef = z.looseObject({
  group: z.string().optional(),
  kind: z.string().optional(),
  namespace: dnsLabel.optional(),
  name: z.string().min(1, 'must not be empty'),
  sectionName: z.string().optional(),
  port: portNumber.optional(),
});
export type ParentRef = z.infer<typeof parentRef>;

export const headerMatch = z.looseObject({
  type: z.enum(['Exact', 'RegularExpression']).optional(),
  name: z.string().min(1, 'must not be empty'),
  value: z.string(),
});

const headerModifier = z.looseObject({
  set: z.array(z.looseObject({ name: z.string().min(1), value: z.string() })).optional(),
  add: z.array(z.looseObject({ name: z.string().min(1), value: z.string() })).optional(),
  remove: z.array(z.string()).optional(),
});

const backendObjectRef = z.looseObject({
  group: z.string().optional(),
  kind: z.string().optional(),
  name: z.string().min(1, 'must not be empty'),
  namespace: dnsLabel.optional(),
  port: portNumber.optional(),
});

const FILTER_FIELDS = {
  RequestHeaderModifier: 'requestHeaderModifier',
  ResponseHeaderModifier: 'responseHeaderModifier',
  RequestMirror: 'requestMirror',
  URLRewrite: 'urlRewrite',
  RequestRedirect: 'requestRedirect',
  ExtensionRef: 'extensionRef',
} as const;

const pathModifier = z.looseObject({
  type: z.enum(['ReplaceFullPath', 'ReplacePrefixMatch']),
  replaceFullPath: z.string().optional(),
  replacePrefixMatch: z.string().optional(),
});

export const routeFilter = z
  .looseObject({
    type: z.enum(
      Object.keys(FILTER_FIELDS) as [keyof typeof FILTER_FIELDS, ...(keyof typeof FILTER_FIELDS)[]],
    ),
    requestHeaderModifier: headerModifier.optional(),
    responseHeaderModifier: headerModifier.optional(),
    requestMirror: z
      .looseObject({
        backendRef: backendObjectRef,
        percent: z.number().int().min(0, 'must be 0-100').max(100, 'must be 0-100').optional(),
        fraction: z
          .looseObject({
            numerator: z.number().int().min(0),
            denominator: z.number().int().min(1).optional(),
          })
          .optional(),
      })
      .optional(),
    urlRewrite: z.looseObject({ hostname: z.string().optional(), path: pathModifier.optional() }).optional(),
    requestRedirect: z
      .looseObject({
        scheme: z.enum(['http', 'https']).optional(),
        hostname: z.string().optional(),
        path: pathModifier.optional(),
        port: portNumber.optional(),
        statusCode: z
          .union([z.literal(301), z.literal(302), z.literal(303), z.literal(307), z.literal(308)], {
            error: 'must be 301, 302, 303, 307 or 308',
          })
          .optional(),
      })
      .optional(),
    extensionRef: z.looseObject({ group: z.string(), kind: z.string(), name: z.string() }).optional(),
  })
  .superRefine((f, ctx) => {
    const field = FILTER_FIELDS[f.type];
    if ((f as Record<string, unknown>)[field] === undefined) {
      ctx.addIssue({ code: 'custom', path: [field], message: `required when type is ${f.type}` });
    }
    for (const [t, other] of Object.entries(FILTER_FIELDS)) {
      if (t !== f.type && (f as Record<string, unknown>)[other] !== undefined) {
        ctx.addIssue({ code: 'custom', path: [other], message: `not allowed when type is ${f.type}` });
      }
    }
  });

export type RouteFilter = z.infer<typeof routeFilter>;

export const backendRef = backendObjectRef.extend({
  weight: z.number().int().min(0, 'must be 0-1000000').max(1_000_000, 'must be 0-1000000').optional(),
  filters: z.array(routeFilter).optional(),
});
export type BackendRef = z.infer<typeof backendRef>;

export const routeTimeouts = z.looseObject({
  request: duration.optional(),
  backendRequest: duration.optional(),
});

export const routeRetry = z.looseObject({
  attempts: z.number().int().min(0, 'must be >= 0').optional(),
  codes: z.array(z.number().int().min(400, 'must be 400-599').max(599, 'must be 400-599')).optional(),
  backoff: duration.optional(),
});
