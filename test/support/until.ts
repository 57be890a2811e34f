// The suites' bounded wait: the same until() as the local cluster's (local-cluster/until.ts).
export { until } from '../../local-cluster/until.js';
