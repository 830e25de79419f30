/**
 * What upstreams tell the gateway outside any call, after the gateway has taken it in: a list changed
 * (and the catalogue has been refreshed), a subscribed resource was updated, a server (re)connected.
 * The /mcp endpoint listens to forward list changes; subscriptions listen to re-establish themselves.
 */
export type ListKind = 'tools' | 'resources' | 'prompts';

export interface UpstreamSignalListener {
  listChanged?(kind: ListKind, server: string): void;
  resourceUpdated?(server: string, uri: string): void;
  connected?(server: string): void;
}

export class UpstreamSignals {
  private readonly listeners = new Set<UpstreamSignalListener>();

  /** Returns the function that stops listening. */
  listen(listener: UpstreamSignalListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  listChanged(kind: ListKind, server: string): void {
    for (const listener of this.listeners) listener.listChanged?.(kind, server);
  }

  resourceUpdated(server: string, uri: string): void {
    for (const listener of this.listeners) listener.resourceUpdated?.(server, uri);
  }

  connected(server: string): void {
    for (const listener of this.listeners) listener.connected?.(server);
  }
}
