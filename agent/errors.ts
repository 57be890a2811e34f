// Agent errors (AG_*): each names what failed on the node and hints at the fix.
import { AmbitError } from '../core/errors.js';

export class AgentError extends AmbitError {}
