/**
 * Upstream URIs inside what a server returns (resource links and embedded resources in tool results
 * and prompt messages, the contents of a read) rewritten to the gateway URIs a client can read them
 * through (resource-map.ts). A URI the server neither lists nor covers by a template has no gateway
 * URI; it is left as it is.
 */
import type { CallToolResult, GetPromptResult, ReadResourceResult } from '@modelcontextprotocol/client';
import type { ResourceMap } from './resource-map.js';

type Block = CallToolResult['content'][number];

function rewriteBlock(map: ResourceMap, server: string, block: Block): Block {
  if (block.type === 'resource_link') {
    const uri = map.gatewayUri(server, block.uri);
    return uri === undefined ? block : { ...block, uri };
  }
  if (block.type === 'resource') {
    const uri = map.gatewayUri(server, block.resource.uri);
    return uri === undefined ? block : { ...block, resource: { ...block.resource, uri } };
  }
  return block;
}

export function gatewayToolResult(map: ResourceMap, server: string, result: CallToolResult): CallToolResult {
  if (!Array.isArray(result.content)) return result;
  return { ...result, content: result.content.map((block) => rewriteBlock(map, server, block)) };
}

export function gatewayPromptResult(map: ResourceMap, server: string, result: GetPromptResult): GetPromptResult {
  return { ...result, messages: result.messages.map((message) => ({ ...message, content: rewriteBlock(map, server, message.content) })) };
}

/** A read's contents under gateway URIs; the one the client asked for keeps the URI it asked with. */
export function gatewayReadResult(map: ResourceMap, server: string, requested: { uri: string; gatewayUri: string }, result: ReadResourceResult): ReadResourceResult {
  return {
    ...result,
    contents: result.contents.map((content) => {
      const uri = content.uri === requested.uri ? requested.gatewayUri : map.gatewayUri(server, content.uri);
      return uri === undefined ? content : { ...content, uri };
    }),
  };
}
