/**
 * Resource subscriptions, held upstream once per (server, URI) for however many gateway clients
 * subscribed, and fanned out to exactly those clients. The gateway subscribes as itself: a 2025-era
 * upstream gets `resources/subscribe` / `resources/unsubscribe`; a 2026-07-28 upstream, which has
 * no such methods, gets one `subscriptions/listen` stream per server naming every subscribed URI
 * (replaced whenever the set changes). A new upstream session loses its subscriptions, so they are
 * made again when the server reconnects.
 */
import type { Client, McpSubscription } from '@modelcontextprotocol/client';
import type { FastifyBaseLogger } from 'fastify';
import { GatewayError } from '../errors.js';
import type { Caller } from './call-context.js';
import type { UpstreamSignals } from './upstream-signals.js';
import { isModern, type UpstreamServer } from './upstream-server.js';

export type UpdateListener = () => void;

interface ServerSubscriptions {
  /** Listeners per upstream URI; a URI is subscribed upstream while it has any. */
  readonly listeners: Map<string, Set<UpdateListener>>;
  /** URIs currently subscribed on a 2025-era upstream session. */
  readonly held: Set<string>;
  /** The listen stream of a 2026-07-28 upstream. */
  listen: McpSubscription | undefined;
  /** Updates are applied one at a time, in order. */
  queue: Promise<void>;
}

export class ResourceSubscriptions {
  private readonly byServer = new Map<string, ServerSubscriptions>();

  constructor(
    private readonly servers: ReadonlyMap<string, UpstreamServer>,
    private readonly serviceCaller: Caller,
    private readonly log: FastifyBaseLogger,
    signals: UpstreamSignals,
  ) {
    signals.listen({
      resourceUpdated: (server, uri) => {
        for (const listener of this.byServer.get(server)?.listeners.get(uri) ?? []) listener();
      },
      connected: (server) => {
        const state = this.byServer.get(server);
        if (state === undefined || state.listeners.size === 0) return;
        // The old session's subscriptions went with it.
        state.held.clear();
        state.listen = undefined;
        this.apply(server, state).catch(() => undefined);
      },
    });
  }

  /**
   * Subscribes a listener to one upstream URI; resolves once the upstream holds the subscription
   * (rejects, holding nothing, when it refuses). Returns the function that unsubscribes it.
   */
  async subscribe(server: string, uri: string, listener: UpdateListener): Promise<() => Promise<void>> {
    const state = this.stateOf(server);
    const listeners = state.listeners.get(uri) ?? new Set();
    listeners.add(listener);
    state.listeners.set(uri, listeners);
    try {
      await this.apply(server, state);
    } catch (error) {
      this.remove(state, uri, listener);
      throw error;
    }
    let active = true;
    return async () => {
      if (!active) return;
      active = false;
      this.remove(state, uri, listener);
      await this.apply(server, state).catch((error: unknown) => this.log.debug({ server, err: error }, 'upstream unsubscribe failed'));
    };
  }

  async close(): Promise<void> {
    const listens = [...this.byServer.values()].flatMap((state) => (state.listen === undefined ? [] : [state.listen]));
    this.byServer.clear();
    await Promise.all(listens.map((listen) => listen.close().catch(() => undefined)));
  }

  private stateOf(server: string): ServerSubscriptions {
    let state = this.byServer.get(server);
    if (state === undefined) {
      state = { listeners: new Map(), held: new Set(), listen: undefined, queue: Promise.resolve() };
      this.byServer.set(server, state);
    }
    return state;
  }

  private remove(state: ServerSubscriptions, uri: string, listener: UpdateListener): void {
    const listeners = state.listeners.get(uri);
    listeners?.delete(listener);
    if (listeners?.size === 0) state.listeners.delete(uri);
  }

  /** Brings the upstream in line with the wanted URIs (serialised per server). */
  private apply(server: string, state: ServerSubscriptions): Promise<void> {
    const run = state.queue.then(() => this.sync(server, state));
    state.queue = run.catch(() => undefined);
    return run;
  }

  private async sync(server: string, state: ServerSubscriptions): Promise<void> {
    const upstream = this.servers.get(server);
    if (upstream === undefined) return;
    const wanted = [...state.listeners.keys()].sort();
    await upstream.request({ caller: this.serviceCaller, headers: {} }, async (client, { options }) => {
      if (wanted.length > 0 && client.getServerCapabilities()?.resources?.subscribe !== true) throw new GatewayError('MCP_2011', { details: { server } });
      if (isModern(client)) await this.relisten(server, client, state, wanted, options.timeout);
      else await this.resubscribe(client, state, wanted, options);
    });
  }

  private async resubscribe(client: Client, state: ServerSubscriptions, wanted: readonly string[], options: { signal: AbortSignal; timeout: number }): Promise<void> {
    for (const uri of wanted) {
      if (state.held.has(uri)) continue;
      await client.subscribeResource({ uri }, options);
      state.held.add(uri);
    }
    for (const uri of [...state.held]) {
      if (wanted.includes(uri)) continue;
      state.held.delete(uri);
      await client.unsubscribeResource({ uri }, options);
    }
  }

  private async relisten(server: string, client: Client, state: ServerSubscriptions, wanted: readonly string[], timeout: number): Promise<void> {
    const current = state.listen?.honoredFilter.resourceSubscriptions ?? [];
    if (current.length === wanted.length && current.every((uri) => wanted.includes(uri))) return;
    const previous = state.listen;
    // The stream outlives this request: it gets no request signal, only a timeout for its acknowledgement.
    const listen = wanted.length === 0 ? undefined : await client.listen({ resourceSubscriptions: [...wanted] }, { timeout });
    state.listen = listen;
    await previous?.close().catch(() => undefined);
    // A stream that broke is opened again; one the upstream ended on purpose waits for a new session (`connected`).
    void listen?.closed.then((reason) => {
      if (reason !== 'remote' || state.listen !== listen) return;
      state.listen = undefined;
      this.apply(server, state).catch(() => undefined);
    });
  }
}
