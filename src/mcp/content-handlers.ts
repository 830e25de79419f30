/**
 * Resources, resource templates, prompts, completions and resource subscriptions on the gateway's
 * /mcp server: aggregated across the servers the caller may use, paginated over the aggregate, every
 * request through the resource gate. Errors: something the caller may not see answers as unknown
 * (a resource: the SDK's resource-not-found, -32602 with the URI; a prompt: -32602); bad input is
 * -32602 with its catalogued code; an upstream failure is -32000 with its catalogued code — never
 * an internal error.
 */
import { ProtocolError, ProtocolErrorCode, ResourceNotFoundError, type Server, type ServerContext } from '@modelcontextprotocol/server';
import { toGatewayError } from '../errors.js';
import type { ResourceGate } from '../gate/resource-gate.js';
import { page } from './pagination.js';
import { scopeOf } from './request-scope.js';

/** JSON-RPC's range for implementation-defined server errors: an upstream's failure, not the client's. */
const SERVER_ERROR = -32000;

function protocolError(error: unknown, subject: { uri?: string; prompt?: string }): Error {
  if (error instanceof ProtocolError) return error;
  const failure = toGatewayError(error);
  if (failure.code === 'MCP_2008') return new ResourceNotFoundError(subject.uri ?? '', `Resource not found: ${subject.uri ?? ''}`);
  if (failure.code === 'MCP_2009') return new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown prompt: ${subject.prompt ?? ''}`);
  const data = { code: failure.code, retryable: failure.retryable, ...(failure.details === undefined ? {} : { details: failure.details }) };
  // The upstream's own verdict on the client's input (an unknown URI under a template, a bad argument).
  const upstreamCode = (failure.cause as { code?: unknown } | undefined)?.code;
  if (failure.code === 'MCP_2002' && (upstreamCode === ProtocolErrorCode.InvalidParams || upstreamCode === ProtocolErrorCode.ResourceNotFound)) {
    if (subject.uri !== undefined) return new ResourceNotFoundError(subject.uri, `Resource not found: ${subject.uri}`);
    return new ProtocolError(ProtocolErrorCode.InvalidParams, (failure.cause as Error).message, data);
  }
  return new ProtocolError(failure.status < 500 ? ProtocolErrorCode.InvalidParams : SERVER_ERROR, `${failure.code}: ${failure.message}`, data);
}

async function guarded<T>(subject: { uri?: string; prompt?: string }, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw protocolError(error, subject);
  }
}

function options(ctx: ServerContext): { requestId: string; signal: AbortSignal } {
  return { requestId: scopeOf(ctx).requestId, signal: ctx.mcpReq.signal };
}

export function registerContentHandlers(server: Server, gate: ResourceGate, { pageSize, subscriptions }: { pageSize: number; subscriptions: boolean }): void {
  const { content } = gate;
  server.setRequestHandler('resources/list', async (request, ctx) => {
    await content.catalogue.loaded();
    const visible = content.visibleResources(scopeOf(ctx).identity);
    const { items, nextCursor } = page(visible, (entry) => entry.gatewayUri, request.params?.cursor, pageSize);
    return { resources: items.map(({ resource, gatewayUri }) => ({ ...resource, uri: gatewayUri })), ...(nextCursor === undefined ? {} : { nextCursor }) };
  });
  server.setRequestHandler('resources/templates/list', async (request, ctx) => {
    await content.catalogue.loaded();
    const visible = content.visibleTemplates(scopeOf(ctx).identity);
    const { items, nextCursor } = page(visible, (entry) => entry.gatewayTemplate, request.params?.cursor, pageSize);
    return { resourceTemplates: items.map(({ template, gatewayTemplate }) => ({ ...template, uriTemplate: gatewayTemplate })), ...(nextCursor === undefined ? {} : { nextCursor }) };
  });
  server.setRequestHandler('resources/read', (request, ctx) => {
    const { uri } = request.params;
    return guarded({ uri }, () => gate.read(scopeOf(ctx).identity, uri, options(ctx)));
  });
  server.setRequestHandler('prompts/list', async (request, ctx) => {
    await content.catalogue.loaded();
    const visible = content.visiblePrompts(scopeOf(ctx).identity);
    const { items, nextCursor } = page(visible, (entry) => entry.qualifiedName, request.params?.cursor, pageSize);
    return { prompts: items.map(({ prompt, qualifiedName }) => ({ ...prompt, name: qualifiedName })), ...(nextCursor === undefined ? {} : { nextCursor }) };
  });
  server.setRequestHandler('prompts/get', (request, ctx) => {
    const { name } = request.params;
    return guarded({ prompt: name }, () => gate.getPrompt(scopeOf(ctx).identity, name, request.params.arguments ?? {}, options(ctx)));
  });
  server.setRequestHandler('completion/complete', (request, ctx) => {
    const { ref, ...rest } = request.params;
    const subject = ref.type === 'ref/prompt' ? { prompt: ref.name } : { uri: ref.uri };
    return guarded(subject, () => gate.complete(scopeOf(ctx).identity, ref, rest, options(ctx)));
  });
  if (subscriptions) registerSubscriptions(server, gate);
}

/**
 * `resources/subscribe` for a 2025-era session: the gateway holds the subscription upstream and sends
 * this session — only this one — `notifications/resources/updated` under the URI it subscribed with.
 * The session's subscriptions end with it.
 */
function registerSubscriptions(server: Server, gate: ResourceGate): void {
  const held = new Map<string, Promise<() => Promise<void>>>();
  server.setRequestHandler('resources/subscribe', async (request, ctx) => {
    const { uri } = request.params;
    const identity = scopeOf(ctx).identity;
    if (held.has(uri)) return {};
    const subscription = guarded({ uri }, () => gate.subscribe(identity, uri, () => void server.sendResourceUpdated({ uri }).catch(() => undefined)));
    held.set(uri, subscription);
    try {
      await subscription;
    } catch (error) {
      held.delete(uri);
      throw error;
    }
    return {};
  });
  server.setRequestHandler('resources/unsubscribe', async (request, ctx) => {
    const { uri } = request.params;
    const subscription = held.get(uri);
    // Unsubscribing from something never subscribed answers like subscribing would: unknown stays unknown.
    if (subscription === undefined) await guarded({ uri }, () => gate.authorizeResource(scopeOf(ctx).identity, uri));
    held.delete(uri);
    await (await subscription?.catch(() => undefined))?.();
    return {};
  });
  const previous = server.onclose;
  server.onclose = () => {
    previous?.();
    for (const subscription of held.values()) void subscription.then((end) => end()).catch(() => undefined);
    held.clear();
  };
}
