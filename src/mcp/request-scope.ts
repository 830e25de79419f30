/** Who a /mcp request is for: the route puts the verified identity where the SDK hands it to handlers. */
import type { ServerContext } from '@modelcontextprotocol/server';
import type { Identity } from '../auth/identity.js';
import { GatewayError } from '../errors.js';

export interface RequestScope {
  identity: Identity;
  requestId: string;
}

export function scopeOf(ctx: ServerContext): RequestScope {
  const scope = ctx.http?.authInfo?.extra?.gateway as RequestScope | undefined;
  // The route puts the verified identity here before the SDK sees the request.
  if (scope === undefined) throw new GatewayError('AUTH_1001');
  return scope;
}
