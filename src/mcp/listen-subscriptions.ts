/**
 * Resource subscriptions of 2026-07-28 clients, which name the URIs in `subscriptions/listen`
 * (`notifications.resourceSubscriptions`) instead of calling `resources/subscribe`. The SDK's listen
 * router serves the stream and delivers `notifications/resources/updated` to the streams that named
 * the URI; the gateway, before the router sees the request, checks that the caller may read every URI
 * (one it may not answers like an unknown one, and no stream opens) and holds the subscriptions
 * upstream while such streams are open — once per URI, however many streams named it.
 */
import type { ServerNotifier } from '@modelcontextprotocol/server';
import type { Identity } from '../auth/identity.js';
import type { ResourceGate } from '../gate/resource-gate.js';

interface Held {
  streams: number;
  readonly end: Promise<() => Promise<void>>;
}

/** The URIs a `subscriptions/listen` body asks updates for, if it is one. */
export function listenedUris(body: unknown): string[] {
  const message = body as { method?: unknown; params?: { notifications?: { resourceSubscriptions?: unknown } } } | null | undefined;
  if (message?.method !== 'subscriptions/listen') return [];
  const uris = message.params?.notifications?.resourceSubscriptions;
  return Array.isArray(uris) ? uris.filter((uri): uri is string => typeof uri === 'string') : [];
}

export class ListenSubscriptions {
  private readonly held = new Map<string, Held>();

  constructor(
    private readonly gate: ResourceGate,
    private readonly notify: ServerNotifier,
  ) {}

  /**
   * Authorizes every URI for the caller, then holds them for one stream; resolves to the function
   * that releases them when the stream ends. Rejects (holding nothing) when any URI is not readable.
   */
  async open(identity: Identity, uris: readonly string[]): Promise<() => void> {
    for (const uri of uris) await this.gate.authorizeResource(identity, uri);
    const taken: string[] = [];
    try {
      for (const uri of new Set(uris)) {
        let held = this.held.get(uri);
        if (held === undefined) {
          held = { streams: 0, end: this.gate.subscribe(identity, uri, () => this.notify.resourceUpdated(uri)) };
          this.held.set(uri, held);
        }
        held.streams += 1;
        taken.push(uri);
        await held.end;
      }
    } catch (error) {
      this.release(taken);
      throw error;
    }
    let open = true;
    return () => {
      if (open) this.release(taken);
      open = false;
    };
  }

  private release(uris: readonly string[]): void {
    for (const uri of uris) {
      const held = this.held.get(uri);
      if (held === undefined) continue;
      held.streams -= 1;
      if (held.streams > 0) continue;
      this.held.delete(uri);
      void held.end.then((end) => end()).catch(() => undefined);
    }
  }
}
