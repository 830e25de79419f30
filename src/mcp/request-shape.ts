/**
 * Parameters of the requests /mcp serves, checked against the spec's own schemas before the SDK sees
 * them: the SDK's 2025-era leg answers a request whose parameters do not parse with an internal error
 * (-32603), where the client made the mistake. Such a request gets invalid params (-32602, `REQ_4000`).
 */
import { isSpecType } from '@modelcontextprotocol/server';

const GUARDS: Readonly<Record<string, (value: unknown) => boolean>> = {
  'tools/call': isSpecType.CallToolRequest,
  'resources/list': isSpecType.ListResourcesRequest,
  'resources/templates/list': isSpecType.ListResourceTemplatesRequest,
  'resources/read': isSpecType.ReadResourceRequest,
  'resources/subscribe': isSpecType.SubscribeRequest,
  'resources/unsubscribe': isSpecType.UnsubscribeRequest,
  'prompts/list': isSpecType.ListPromptsRequest,
  'prompts/get': isSpecType.GetPromptRequest,
  'completion/complete': isSpecType.CompleteRequest,
};

/** The id of a request to one of these methods whose parameters do not fit its schema; undefined otherwise. */
export function malformedRequestId(body: unknown): { id: unknown } | undefined {
  const message = body as { method?: unknown; id?: unknown } | null | undefined;
  if (typeof message?.method !== 'string' || message.id === undefined) return undefined;
  const guard = GUARDS[message.method];
  return guard === undefined || guard(body) ? undefined : { id: message.id };
}
