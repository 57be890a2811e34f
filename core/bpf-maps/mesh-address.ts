// The node-local "mesh address" convention shared by the agent, the ztunnel and the kernel
// programs: one link-local address per node (the same on every node, each node has its own
// network namespace) where the ztunnel listens for captured traffic and from which it dials
// local pods. Constants only; nothing here touches the kernel.

/** Default mesh address: the agent adds it to the node, connect4 rewrites to it, STRICT pods accept it. */
export const DEFAULT_MESH_ADDRESS = '169.254.7.1';

/** ztunnel outbound capture port: connect4 rewrites mesh connects to mesh-address:15001. */
export const CAPTURE_PORT = 15001;

/** ztunnel inbound plaintext port (PERMISSIVE). */
export const INBOUND_PLAINTEXT_PORT = 15006;
