/**
 * The SDK client transport for one configured server: Streamable HTTP, legacy HTTP+SSE (protocol
 * 2024-11-05) or a stdio child process. HTTP transports get the gateway's fetch (credential and call
 * headers) and the server's auth provider; a stdio server's stderr goes to the log under its name.
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { SSEClientTransport, StreamableHTTPClientTransport, type AuthProvider, type Transport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import type { FastifyBaseLogger } from 'fastify';
import type { UpstreamServerConfig } from '../config/schema.js';

export interface TransportParts {
  readonly fetch: typeof fetch;
  readonly authProvider: AuthProvider | undefined;
}

/** Longest stderr line kept in the log; a server printing megabytes on one line must not flood it. */
const MAX_STDERR_LINE = 4_096;

export function createTransport(name: string, config: UpstreamServerConfig, parts: TransportParts, log: FastifyBaseLogger): Transport {
  if (config.transport === 'stdio') return stdioTransport(name, config, log);
  // The schema guarantees a url for the HTTP transports.
  const url = new URL(config.url ?? '');
  const options = { fetch: parts.fetch, ...(parts.authProvider === undefined ? {} : { authProvider: parts.authProvider }) };
  return config.transport === 'sse' ? new SSEClientTransport(url, options) : new StreamableHTTPClientTransport(url, options);
}

function stdioTransport(name: string, config: UpstreamServerConfig, log: FastifyBaseLogger): StdioClientTransport {
  const transport = new StdioClientTransport({
    command: config.command ?? '',
    args: config.args,
    env: config.env,
    ...(config.cwd === undefined ? {} : { cwd: config.cwd }),
    stderr: 'pipe',
  });
  const stderr = transport.stderr as Readable | null;
  if (stderr !== null) {
    const lines = createInterface({ input: stderr, crlfDelay: Infinity });
    lines.on('line', (line) => log.info({ server: name, stream: 'stderr' }, line.length > MAX_STDERR_LINE ? `${line.slice(0, MAX_STDERR_LINE)}…` : line));
  }
  return transport;
}
