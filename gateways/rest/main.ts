// What the CLI needs to run the edge (imported lazily, so other commands do not load Fastify).
export { loadEdgeSettings } from './config.js';
export { startEdge } from './server.js';
