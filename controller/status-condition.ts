// The condition shape `ambit status` shows for routes and waypoint Gateways: Gateway API's
// metav1.Condition without lastTransitionTime (status is computed on request, not stored).
// Shapes only; the rules that fill them live in route-status.ts and waypoint-status.ts.

export interface StatusCondition<Type extends string = string> {
  type: Type;
  status: 'True' | 'False';
  reason: string;
  message: string;
  /** metadata.generation of the resource the condition was computed from, when it has one. */
  observedGeneration?: number;
}

/** metadata.generation when the manifest carries one (Kubernetes sets it; files usually do not). */
export function generationOf(metadata: object): number | undefined {
  const g = (metadata as { generation?: unknown }).generation;
  return typeof g === 'number' && Number.isInteger(g) && g >= 0 ? g : undefined;
}

/** A condition, with observedGeneration only when the resource has a generation. */
export function condition<Type extends string>(
  type: Type,
  status: 'True' | 'False',
  reason: string,
  message: string,
  generation: number | undefined,
): StatusCondition<Type> {
  const c: StatusCondition<Type> = { type, status, reason, message };
  if (generation !== undefined) c.observedGeneration = generation;
  return c;
}
