/**
 * The cost limit over HTTP: an Apollo plugin, because Apollo's validation rules run without
 * the request's variables and `first: $n` must count as n (graphql-ws validates with them in
 * ws.ts). Runs once the operation is resolved, before execution.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import { getOperationAST } from 'graphql';
import type { ApiContext } from '../auth/api-context.js';
import { operationCost, tooComplex } from './limits.js';

export function costLimitPlugin(maxCost: number): ApolloServerPlugin<ApiContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, request, operationName }) {
          const op = getOperationAST(document, operationName ?? request.operationName);
          if (!op) return;
          const cost = operationCost(schema, document, op, request.variables ?? {});
          // extensions.http.status makes Apollo answer 400 (a plugin's error is 500 otherwise).
          if (cost > maxCost) throw tooComplex('cost', cost, maxCost, op);
        },
      };
    },
  };
}
