/**
 * The gateway's public base URL, for the links it hands out (401 challenges, RFC 9728 metadata).
 * It comes from `server.publicUrl` — a configuration file must set it — and, for the embedded demo
 * and tests that configure none, from the address the gateway actually listens on. Never from a
 * request's `Host` header: that is the client's to choose, and was reflected, unescaped, into
 * `WWW-Authenticate` and the metadata that tell clients where to get tokens.
 */
export class PublicUrl {
  private derived: string;

  constructor(
    private readonly configured: string | undefined,
    host: string,
    port: number,
  ) {
    this.derived = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  /** The base URL, without a trailing slash. */
  get base(): string {
    return (this.configured ?? this.derived).replace(/\/+$/, '');
  }

  /** Called once listening: without a configured URL, the real listen address (port 0 resolved) is used. */
  listeningOn(url: string): void {
    this.derived = url;
  }
}
