/**
 * The raw access token an identity was verified from, for the one use that needs it: RFC 8693 token
 * exchange, where the caller's token is the subject of the exchange. Held in a WeakMap keyed by the
 * identity object so it is never serialised, logged or stored with the identity, and never
 * forwarded as is.
 */
import type { Identity } from './identity.js';

const tokens = new WeakMap<Identity, string>();

export function rememberAccessToken(identity: Identity, token: string): void {
  tokens.set(identity, token);
}

export function accessTokenOf(identity: Identity): string | undefined {
  return tokens.get(identity);
}
