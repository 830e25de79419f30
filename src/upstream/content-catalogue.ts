/**
 * The resources, resource templates and prompts of every upstream server, listed as the gateway
 * (every page), refreshed on the server's `list_changed` and on the catalogue timer. It holds the
 * one URI table (resource-map.ts) and the one prompt name table (names.ts, the same qualified names
 * as tools: `server__prompt`, bare for `unprefixed` servers where nothing collides).
 */
import type { Prompt, Resource, ResourceTemplateType } from '@modelcontextprotocol/client';
import type { FastifyBaseLogger } from 'fastify';
import type { GatewayConfig } from '../config/schema.js';
import type { Caller } from './call-context.js';
import { NameTable } from './names.js';
import { ResourceMap } from './resource-map.js';
import type { UpstreamServer } from './upstream-server.js';
import { ServerRefresher } from './server-refresher.js';

export interface CatalogueResource {
  readonly server: string;
  /** The upstream definition (its own URI). */
  readonly resource: Resource;
  readonly gatewayUri: string;
}

export interface CatalogueTemplate {
  readonly server: string;
  readonly template: ResourceTemplateType;
  readonly gatewayTemplate: string;
}

export interface CataloguePrompt {
  readonly server: string;
  readonly prompt: Prompt;
  readonly qualifiedName: string;
}

interface ServerContent {
  readonly resources: readonly Resource[];
  readonly templates: readonly ResourceTemplateType[];
  readonly prompts: readonly Prompt[];
}

const EMPTY: ServerContent = { resources: [], templates: [], prompts: [] };

export class ContentCatalogue {
  private readonly content = new Map<string, ServerContent>();
  private map = ResourceMap.build([]);
  private names = new NameTable();
  private readonly refresher: ServerRefresher;
  private revision = 0;

  constructor(
    private readonly servers: ReadonlyMap<string, UpstreamServer>,
    private readonly config: GatewayConfig['upstream'],
    private readonly log: FastifyBaseLogger,
    private readonly serviceCaller: Caller,
  ) {
    this.refresher = new ServerRefresher(() => this.servers.keys(), (server) => this.load(server), config.catalogueRefreshMs);
  }

  start(): void {
    this.refresher.start();
  }

  stop(): void {
    this.refresher.stop();
  }

  loaded(): Promise<void> {
    return this.refresher.loaded();
  }

  /** Changes whenever a listing changes what the catalogue holds: a cache key. */
  get version(): number {
    return this.revision;
  }

  get uris(): ResourceMap {
    return this.map;
  }

  refreshAll(): Promise<void> {
    return this.refresher.refreshAll();
  }

  /** Re-lists one server; concurrent requests for the same server share one listing. */
  refresh(server: string): Promise<void> {
    return this.refresher.refresh(server);
  }

  /** Every resource, in a deterministic order (server, then the order the server listed them). */
  resources(): CatalogueResource[] {
    return this.serverNames().flatMap((server) =>
      this.of(server).resources.map((resource) => ({ server, resource, gatewayUri: this.map.gatewayUri(server, resource.uri) ?? resource.uri })),
    );
  }

  templates(): CatalogueTemplate[] {
    return this.serverNames().flatMap((server) =>
      this.of(server).templates.flatMap((template) => {
        const gatewayTemplate = this.map.gatewayTemplate(server, template.uriTemplate);
        return gatewayTemplate === undefined ? [] : [{ server, template, gatewayTemplate }];
      }),
    );
  }

  prompts(): CataloguePrompt[] {
    return this.serverNames().flatMap((server) => this.of(server).prompts.map((prompt) => ({ server, prompt, qualifiedName: this.names.nameOf(server, prompt.name) ?? prompt.name })));
  }

  /** A prompt by the qualified name clients were shown (through the table, never parsed). */
  resolvePrompt(qualifiedName: string): CataloguePrompt | undefined {
    const address = this.names.resolve(qualifiedName);
    const prompt = address === undefined ? undefined : this.of(address.server).prompts.find((candidate) => candidate.name === address.tool);
    return address === undefined || prompt === undefined ? undefined : { server: address.server, prompt, qualifiedName };
  }

  /** A listed resource of one server by its upstream URI. */
  findResource(server: string, uri: string): Resource | undefined {
    return this.of(server).resources.find((resource) => resource.uri === uri);
  }

  findTemplate(server: string, uriTemplate: string): ResourceTemplateType | undefined {
    return this.of(server).templates.find((template) => template.uriTemplate === uriTemplate);
  }

  private serverNames(): string[] {
    return [...this.servers.keys()].sort();
  }

  private of(server: string): ServerContent {
    return this.content.get(server) ?? EMPTY;
  }

  private async load(server: string): Promise<void> {
    const upstream = this.servers.get(server);
    if (upstream === undefined) return;
    try {
      const content = await upstream.request({ caller: this.serviceCaller, headers: {} }, async (client, { options }) => {
        const capabilities = client.getServerCapabilities();
        // Every page, freshly (the pooled client's cache is shared by every caller).
        const listing = { ...options, cacheMode: 'refresh' as const };
        const hasResources = capabilities?.resources !== undefined;
        return {
          resources: hasResources ? (await client.listResources(undefined, listing)).resources : [],
          templates: hasResources ? (await client.listResourceTemplates(undefined, listing)).resourceTemplates : [],
          prompts: capabilities?.prompts !== undefined ? (await client.listPrompts(undefined, listing)).prompts : [],
        };
      });
      this.content.set(server, content);
    } catch (error) {
      // The server's tools catalogue reports it unavailable; what it listed last stays until it answers again.
      this.log.warn({ server, err: error }, 'could not list upstream resources and prompts');
      return;
    }
    this.rebuild();
  }

  private rebuild(): void {
    const entries = this.serverNames().map((server) => ({ server, unprefixed: this.servers.get(server)?.config.unprefixed ?? false, content: this.of(server) }));
    this.map = ResourceMap.build(
      entries.map(({ server, unprefixed, content }) => ({ server, unprefixed, uris: content.resources.map((resource) => resource.uri), templates: content.templates.map((template) => template.uriTemplate) })),
    );
    this.names = NameTable.build(entries.flatMap(({ server, unprefixed, content }) => content.prompts.map((prompt) => ({ server, tool: prompt.name, unprefixed }))));
    this.revision += 1;
  }
}
