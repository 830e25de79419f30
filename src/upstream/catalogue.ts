/**
 * The tool catalogue: every upstream server's tools, refreshed on `tools/list_changed` and on a
 * timer, exposed under stable qualified names. Tool definitions are pinned on first sight (in the
 * store, so every replica agrees): a later change is logged, listed for admins and — when
 * `upstream.pinning` is `hide` — keeps the tool hidden until a gateway admin approves it.
 */
import { createHash } from 'node:crypto';
import type { Tool } from '@modelcontextprotocol/client';
import type { FastifyBaseLogger } from 'fastify';
import type { GatewayConfig } from '../config/schema.js';
import type { Metrics } from '../ops/metrics.js';
import { KEYS } from '../store/records.js';
import type { Store } from '../store/types.js';
import { canonicalJson } from '../util/canonical-json.js';
import type { Caller } from './call-context.js';
import { NameTable } from './names.js';
import type { UpstreamServer } from './upstream-server.js';
import { ServerRefresher } from './server-refresher.js';

export interface ToolAnnotationsView {
  readonly title?: string;
  readonly readOnlyHint?: boolean;
  readonly destructiveHint?: boolean;
  readonly idempotentHint?: boolean;
  readonly openWorldHint?: boolean;
}

export interface CatalogueTool {
  readonly server: string;
  readonly name: string;
  readonly qualifiedName: string;
  readonly title: string | undefined;
  readonly description: string;
  readonly inputSchema: Record<string, unknown>;
  /** Kept as the server published them, for MCP clients (structured results, display). */
  readonly outputSchema?: Tool['outputSchema'];
  readonly icons?: Tool['icons'];
  readonly annotations: ToolAnnotationsView | undefined;
  /** sha256 of the canonical definition; changes whenever description, schema or annotations do. */
  readonly fingerprint: string;
  /** True when the definition differs from the pinned one (and pinning is not off). */
  readonly changed: boolean;
}

export interface PinChange {
  server: string;
  tool: string;
  pinnedFingerprint: string;
  currentFingerprint: string;
  detectedAt: string;
}

const pinKey = KEYS.pin;

export function fingerprintOf(tool: Pick<Tool, 'description' | 'inputSchema' | 'annotations' | 'title' | 'outputSchema'>): string {
  const definition = { title: tool.title, description: tool.description, inputSchema: tool.inputSchema, outputSchema: tool.outputSchema, annotations: tool.annotations };
  return createHash('sha256').update(canonicalJson(definition)).digest('hex');
}

export class Catalogue {
  private entries = new Map<string, CatalogueTool[]>();
  private names = new NameTable();
  private readonly changes = new Map<string, PinChange>();
  private readonly listed = new Set<string>();
  private readonly refresher: ServerRefresher;
  private revision = 0;

  constructor(
    private readonly servers: ReadonlyMap<string, UpstreamServer>,
    private readonly config: GatewayConfig['upstream'],
    private readonly store: Store,
    private readonly metrics: Metrics,
    private readonly log: FastifyBaseLogger,
    /** Listing is the gateway's own traffic, made as its service identity. */
    private readonly serviceCaller: Caller,
  ) {
    this.refresher = new ServerRefresher(() => this.servers.keys(), (server) => this.load(server), config.catalogueRefreshMs);
  }

  /** Loads every server's tools in the background and keeps them fresh; never blocks start-up. */
  start(): void {
    this.refresher.start();
  }

  stop(): void {
    this.refresher.stop();
  }

  /** Resolves once the first listing of every server has finished (succeeded or failed). */
  loaded(): Promise<void> {
    return this.refresher.loaded();
  }

  refreshAll(): Promise<void> {
    return this.refresher.refreshAll();
  }

  /** Re-lists one server's tools; concurrent requests for the same server share one listing. */
  refresh(server: string): Promise<void> {
    return this.refresher.refresh(server);
  }

  /**
   * Whether the server's last listing worked and its breaker is closed. One failed call does not take
   * a server's tools away from users and the model; repeated failures open the breaker, which does.
   */
  isAvailable(server: string): boolean {
    const upstream = this.servers.get(server);
    return upstream !== undefined && this.listed.has(server) && !upstream.resilience.isOpen;
  }

  /** Changes whenever a listing changes what the catalogue holds (tools, names, pins, listed servers): a cache key. */
  get version(): number {
    return this.revision;
  }

  serverNames(): string[] {
    return [...this.servers.keys()].sort();
  }

  /** Every usable tool, in a deterministic order (server, then tool name). */
  tools(): CatalogueTool[] {
    return this.serverNames().flatMap((server) => (this.entries.get(server) ?? []).filter((tool) => this.usable(tool)));
  }

  /** One server's tool by name; looks at that server's entries only (this is on every call's path). */
  find(server: string, tool: string): CatalogueTool | undefined {
    const entry = this.entries.get(server)?.find((candidate) => candidate.name === tool);
    return entry !== undefined && this.usable(entry) ? entry : undefined;
  }

  /** A changed definition is withheld while pinning is `hide` and no admin has approved it. */
  private usable(tool: CatalogueTool): boolean {
    return !(tool.changed && this.config.pinning === 'hide');
  }

  resolve(qualifiedName: string): CatalogueTool | undefined {
    const address = this.names.resolve(qualifiedName);
    return address === undefined ? undefined : this.find(address.server, address.tool);
  }

  pinChanges(): PinChange[] {
    return [...this.changes.values()];
  }

  /** A gateway admin accepts a changed definition: it becomes the new pin on every replica. */
  async approve(server: string, tool: string): Promise<boolean> {
    const current = (this.entries.get(server) ?? []).find((entry) => entry.name === tool);
    if (current === undefined) return false;
    await this.store.set(pinKey(server, tool), current.fingerprint);
    this.changes.delete(`${server}/${tool}`);
    await this.refresh(server);
    return true;
  }

  private async load(server: string): Promise<void> {
    const upstream = this.servers.get(server);
    if (upstream === undefined) return;
    try {
      const tools = await upstream.listTools(this.serviceCaller);
      const entries = await Promise.all(tools.map((tool) => this.entryFor(server, tool)));
      this.entries.set(server, entries);
      this.listed.add(server);
      this.metrics.upstreamUp.set({ server }, 1);
      this.rebuildNames();
      this.revision += 1;
    } catch (error) {
      this.listed.delete(server);
      this.revision += 1;
      this.metrics.upstreamUp.set({ server }, 0);
      this.log.warn({ server, err: error }, 'could not list upstream tools');
    }
  }

  private async entryFor(server: string, tool: Tool): Promise<CatalogueTool> {
    const fingerprint = fingerprintOf(tool);
    let changed = false;
    if (this.config.pinning !== 'off') {
      const key = pinKey(server, tool.name);
      const firstSight = await this.store.set(key, fingerprint, { onlyIfAbsent: true }).catch(() => false);
      const pinned = firstSight ? fingerprint : await this.store.get(key).catch(() => null);
      changed = pinned !== null && pinned !== fingerprint;
      const changeKey = `${server}/${tool.name}`;
      if (changed && pinned !== null && this.changes.get(changeKey)?.currentFingerprint !== fingerprint) {
        this.changes.set(changeKey, { server, tool: tool.name, pinnedFingerprint: pinned, currentFingerprint: fingerprint, detectedAt: new Date().toISOString() });
        this.log.warn({ server, tool: tool.name, pinning: this.config.pinning }, 'tool definition changed since it was pinned');
      }
      if (!changed) this.changes.delete(changeKey);
    }
    return {
      server,
      name: tool.name,
      qualifiedName: this.names.nameOf(server, tool.name) ?? '',
      title: tool.title ?? tool.annotations?.title,
      description: tool.description ?? '',
      inputSchema: tool.inputSchema,
      outputSchema: tool.outputSchema,
      icons: tool.icons,
      annotations: tool.annotations,
      fingerprint,
      changed,
    };
  }

  private rebuildNames(): void {
    const all = [...this.entries.entries()].flatMap(([server, tools]) =>
      tools.map((tool) => ({ server, tool: tool.name, unprefixed: this.servers.get(server)?.config.unprefixed ?? false })),
    );
    this.names = NameTable.build(all);
    const renamed = new Map<string, CatalogueTool[]>();
    for (const [server, tools] of this.entries) {
      renamed.set(server, tools.map((tool) => ({ ...tool, qualifiedName: this.names.nameOf(server, tool.name) ?? tool.name })));
    }
    this.entries = renamed;
  }
}
