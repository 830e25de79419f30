/**
 * Resource URIs as MCP clients of the gateway see them, mapped to (server, upstream URI) and back
 * through tables — a gateway URI is never taken apart to find its server.
 *
 * A server's resource `u` is exposed as `mcp-gateway://<server>/<u>` (the upstream URI appended as
 * is), and its URI template `t` as `mcp-gateway://<server>/<t>`. A client expanding that template
 * produces a gateway URI that the gateway matches against the gateway templates it exposed (the SDK's
 * UriTemplate), takes the variables and expands the server's own template with them: the upstream
 * URI comes from the upstream template, not from the string the client sent. An `unprefixed`
 * server's URIs and templates are exposed as they are, unless another server exposes the same URI
 * (or template) or the URI uses the gateway's own scheme; then they are prefixed too.
 *
 * Reading a gateway URI: an exact listed resource first; else the templates that match it — a URI
 * that templates of two servers both match is ambiguous and treated as unknown, never guessed.
 */
import { UriTemplate, type Variables } from '@modelcontextprotocol/client';

export const GATEWAY_URI_SCHEME = 'mcp-gateway';

/** A resource or template address: which server, and its URI (or template) there. */
export interface ResourceAddress {
  readonly server: string;
  readonly uri: string;
  /** The upstream template the URI was read through, if it is not a listed resource. */
  readonly template?: string | undefined;
}

export interface ServerResources {
  readonly server: string;
  readonly unprefixed: boolean;
  readonly uris: readonly string[];
  readonly templates: readonly string[];
}

interface TemplateEntry {
  readonly server: string;
  readonly upstream: string;
  readonly gateway: string;
  readonly upstreamTemplate: UriTemplate;
  readonly gatewayTemplate: UriTemplate;
}

function prefixed(server: string, uri: string): string {
  return `${GATEWAY_URI_SCHEME}://${server}/${uri}`;
}

function counts(values: readonly string[]): Map<string, number> {
  const seen = new Map<string, number>();
  for (const value of values) seen.set(value, (seen.get(value) ?? 0) + 1);
  return seen;
}

/** Matched values come back percent-encoded; expanding encodes again, so they are decoded in between. */
function decoded(variables: Variables): Variables {
  const decode = (value: string): string => {
    try {
      return decodeURIComponent(value);
    } catch {
      return value;
    }
  };
  return Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, Array.isArray(value) ? value.map(decode) : decode(value)]));
}

function parseTemplate(template: string): UriTemplate | undefined {
  try {
    return new UriTemplate(template);
  } catch {
    return undefined;
  }
}

export class ResourceMap {
  private readonly byGatewayUri = new Map<string, ResourceAddress>();
  private readonly byAddress = new Map<string, string>();
  private readonly templates: TemplateEntry[] = [];
  private readonly templateByGateway = new Map<string, TemplateEntry>();
  private readonly templateByAddress = new Map<string, TemplateEntry>();

  static build(servers: readonly ServerResources[]): ResourceMap {
    const map = new ResourceMap();
    const uriCounts = counts(servers.flatMap(({ uris }) => [...new Set(uris)]));
    const templateCounts = counts(servers.flatMap(({ templates }) => [...new Set(templates)]));
    const bare = (unprefixed: boolean, value: string, times: Map<string, number>): boolean =>
      unprefixed && times.get(value) === 1 && !value.toLowerCase().startsWith(`${GATEWAY_URI_SCHEME}:`);
    for (const { server, unprefixed, uris, templates } of servers) {
      for (const uri of uris) {
        const gateway = bare(unprefixed, uri, uriCounts) ? uri : prefixed(server, uri);
        map.byGatewayUri.set(gateway, { server, uri });
        map.byAddress.set(`${server}\0${uri}`, gateway);
      }
      for (const upstream of templates) {
        const gateway = bare(unprefixed, upstream, templateCounts) ? upstream : prefixed(server, upstream);
        const upstreamTemplate = parseTemplate(upstream);
        const gatewayTemplate = parseTemplate(gateway);
        // A template the SDK cannot parse cannot be expanded or matched: it is not exposed.
        if (upstreamTemplate === undefined || gatewayTemplate === undefined) continue;
        const entry = { server, upstream, gateway, upstreamTemplate, gatewayTemplate };
        map.templates.push(entry);
        map.templateByGateway.set(gateway, entry);
        map.templateByAddress.set(`${server}\0${upstream}`, entry);
      }
    }
    return map;
  }

  /** The gateway URI of a listed resource, or of a URI one of the server's templates covers. */
  gatewayUri(server: string, uri: string): string | undefined {
    const listed = this.byAddress.get(`${server}\0${uri}`);
    if (listed !== undefined) return listed;
    for (const entry of this.templates) {
      if (entry.server !== server) continue;
      const variables = entry.upstreamTemplate.match(uri);
      if (variables !== null) return entry.gatewayTemplate.expand(decoded(variables));
    }
    return undefined;
  }

  /** The gateway form of one of the server's URI templates. */
  gatewayTemplate(server: string, template: string): string | undefined {
    return this.templateByAddress.get(`${server}\0${template}`)?.gateway;
  }

  /** The server and upstream URI a gateway URI stands for; undefined when unknown or ambiguous. */
  resolve(gatewayUri: string): ResourceAddress | undefined {
    const listed = this.byGatewayUri.get(gatewayUri);
    if (listed !== undefined) return listed;
    let found: ResourceAddress | undefined;
    for (const entry of this.templates) {
      const variables = entry.gatewayTemplate.match(gatewayUri);
      if (variables === null) continue;
      if (found !== undefined && found.server !== entry.server) return undefined;
      found ??= { server: entry.server, uri: entry.upstreamTemplate.expand(decoded(variables)), template: entry.upstream };
    }
    return found;
  }

  /** The server and upstream template a gateway template (as listed) stands for. */
  resolveTemplate(gatewayTemplate: string): { readonly server: string; readonly template: string } | undefined {
    const entry = this.templateByGateway.get(gatewayTemplate);
    return entry === undefined ? undefined : { server: entry.server, template: entry.upstream };
  }
}
