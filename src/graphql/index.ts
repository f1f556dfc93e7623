/** The GraphQL API stage: what the app imports. */
export { createApiServer, type ApiServer, type ApiServerOptions } from './server.js';
export { devContext, type ApiContext, type ContextFunction, type ContextRequest } from '../auth/api-context.js';
export type { RequestHandler } from './http.js';
export type { HealthReport, ModelInfoSource } from './resolvers/deps.js';
export type { SchemaExtension } from './schema.js';
