/**
 * The configuration schema: the single source of truth for every config key.
 * Types are inferred from it; `check-config` and `start` validate against it; the README's
 * configuration reference lists these keys. Every object is strict: a misspelt key is reported,
 * never silently ignored (a typo in e.g. `revocation.onStoreError` must not fall back to a default).
 */
import { z } from 'zod';

const httpUrl = z
  .string()
  .refine((value) => {
    try {
      const url = new URL(value);
      return url.protocol === 'http:' || url.protocol === 'https:';
    } catch {
      return false;
    }
  }, 'must be an http(s) URL');

const redisUrl = z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL');
const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();
const roleName = z.string().min(1);
const roleList = z.array(roleName);
/** Names the model providers accept in tool names; server and tool names are part of them. */
const serverName = z.string().regex(/^[a-zA-Z0-9_-]{1,40}$/, 'must be 1-40 characters of [a-zA-Z0-9_-]');

export const SIGNING_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

const serverSection = z
  .strictObject({
    host: z.string().default('127.0.0.1').describe('Address to listen on.'),
    port: z.number().int().min(0).max(65535).default(8080).describe('Port to listen on (the PORT environment variable overrides it).'),
    publicUrl: httpUrl.optional().describe('Public base URL of this gateway: the `iss` of identity assertions, where upstreams fetch its JWKS, and the resource in OAuth metadata and 401 challenges. Required in a configuration file; only the embedded demo derives it from its listen address. Never taken from a request\'s Host header.'),
    trustProxy: z.union([z.boolean(), z.string(), z.array(z.string())]).default(false).describe('false, true, or the proxy addresses/CIDRs trusted for X-Forwarded-For (client IPs drive pre-authentication rate limits).'),
    bodyLimit: positiveInt.default(1_048_576).describe('Largest accepted request body in bytes (larger → 413 REQ_4013).'),
    maxJsonDepth: positiveInt.max(1_000).default(64).describe('Deepest nesting of arrays and objects accepted in a JSON body (deeper → 400 REQ_4002, checked before parsing).'),
    timeouts: z
      .strictObject({
        headersMs: positiveInt.default(10_000).describe('Time a client has to send the request headers (slower → 408 REQ_4008).'),
        requestMs: positiveInt.default(30_000).describe('Time a client has to send the whole request, body included (slower → 408 REQ_4008). Responses, SSE streams included, are not bounded by it.'),
        keepAliveMs: positiveInt.default(65_000).describe('How long an idle keep-alive connection is kept between requests; longer than typical load-balancer idle timeouts, so the balancer closes first.'),
        idleMs: nonNegativeInt.default(300_000).describe('A connection with no traffic either way for this long is closed (0: never). SSE streams are exempt: heartbeats and the slow-reader cut-off govern them.'),
      })
      .prefault({})
      .refine((timeouts) => timeouts.headersMs <= timeouts.requestMs, { message: 'headersMs must not exceed requestMs', path: ['headersMs'] })
      // A shorter idle timeout would drop a slow client silently before it could be told 408.
      .refine((timeouts) => timeouts.idleMs === 0 || timeouts.idleMs > timeouts.requestMs, { message: 'idleMs must be 0 or longer than requestMs', path: ['idleMs'] }),
    cors: z.strictObject({ origins: z.array(z.string()).default([]).describe('Browser origins allowed to call the API (none by default).') }).prefault({}),
    allowedHosts: z
      .array(z.string().min(1))
      .default([])
      .describe(
        'Hostnames /mcp accepts in the Host and Origin headers (DNS-rebinding protection), besides the publicUrl host, the listen host and loopback names; other values get 403 REQ_4030.',
      ),
  })
  .prefault({});

const loggingSection = z
  .strictObject({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('Log level.'),
    pretty: z.boolean().default(false).describe('Human-readable lines instead of JSON (the demo turns it on).'),
    accessLogSampleRate: z
      .number()
      .min(0)
      .max(1)
      .default(1)
      .describe('Share of successful requests (status < 400) that get an access-log line; failures are always logged and metrics count every request. 0.1 logs one in ten.'),
  })
  .prefault({});

const authSection = z.strictObject({
  issuers: z.array(httpUrl).min(1, 'must list at least one issuer').describe('Accepted `iss` values; several for split-horizon DNS (internal vs public Keycloak URL).'),
  jwksUri: httpUrl.describe("The issuer's JWKS endpoint (Keycloak: <realm>/protocol/openid-connect/certs)."),
  clientId: z.string().min(1).describe("The gateway's OAuth client id: `aud` or `azp` must name it, and its client roles count."),
  audiences: z.array(z.string().min(1)).default([]).describe('Extra accepted audiences besides clientId.'),
  algorithms: z.array(z.enum(SIGNING_ALGORITHMS)).min(1).default(['RS256', 'ES256', 'PS256']).describe('Accepted signing algorithms; `none` and HS* are never accepted.'),
  clockToleranceSec: nonNegativeInt.max(300).default(30).describe('Clock skew allowed on exp/nbf.'),
  jwksRefreshIntervalMs: positiveInt.min(1_000).max(3_600_000).default(60_000).describe('How often the JWKS is re-read in the background: a key the identity provider withdraws stops counting within this plus jwksTimeoutMs.'),
  jwksMaxStaleMs: positiveInt.default(21_600_000).describe('While the identity provider is unreachable, cached keys keep verifying tokens for at most this long after the last good fetch (then 503 AUTH_1006, readiness unhealthy).'),
  jwksCooldownMs: nonNegativeInt.max(60_000).default(5_000).describe('Minimum time between two JWKS fetches caused by tokens with an unknown `kid`; such tokens arriving meanwhile get a retryable 503 AUTH_1008. Must be shorter than jwksRefreshIntervalMs.'),
  jwksTimeoutMs: positiveInt.default(5_000).describe('Timeout of one JWKS fetch.'),
  requireRfc9068AccessTokens: z.boolean().default(false).describe('Accept only tokens whose header `typ` is `at+jwt` (RFC 9068); turn on when the identity provider marks its access tokens so (Keycloak: a client setting).'),
  adminRole: roleName.default('gateway-admin').describe('The role allowed to use admin routes (revocations, tool pinning).'),
  publicIssuers: z
    .array(httpUrl)
    .min(1)
    .optional()
    .describe('Issuers clients may be sent to: the `authorization_servers` of the resource metadata, each one of `issuers`. Default: the first of `issuers` (list the public URL first; internal split-horizon URLs stay unpublished).'),
  scopes: z
    .array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'must be an OAuth scope token'))
    .default(['openid', 'profile', 'email'])
    .describe('Scopes a client should request for this gateway: `scopes_supported` in the resource metadata and `scope` in the `/mcp` challenge. The gateway reads `preferred_username` (profile) and `email` (email).'),
  backchannelLogout: z
    .strictObject({
      trustedClients: z
        .array(z.string().min(1))
        .default([])
        .describe('Client ids of the same realm whose sessions a back-channel logout may end here (the `aud` of their logout tokens), besides `clientId` and `audiences`: the console and the MCP clients people sign in with.'),
    })
    .prefault({}),
}).superRefine((auth, ctx) => {
  for (const [index, issuer] of (auth.publicIssuers ?? []).entries()) {
    if (!auth.issuers.includes(issuer)) ctx.addIssue({ code: 'custom', message: 'must be one of auth.issuers', path: ['publicIssuers', index] });
  }
  // Every background refresh starts a cooldown: were it as long as the interval, an unknown kid would get 503 forever, never 401.
  if (auth.jwksCooldownMs >= auth.jwksRefreshIntervalMs) {
    ctx.addIssue({ code: 'custom', message: 'must be shorter than auth.jwksRefreshIntervalMs', path: ['jwksCooldownMs'] });
  }
});

const revocationSection = z
  .strictObject({
    onStoreError: z.enum(['fail-open', 'fail-closed']).default('fail-open').describe('When the store is unreachable: fail-open serves from the last known revocation mirror; fail-closed refuses requests (503 AUTH_1005) once the mirror is older than maxStalenessMs.'),
    maxStalenessMs: positiveInt.default(30_000).describe('How old the revocation mirror may get before it counts as stale (readiness, fail-closed).'),
    resyncIntervalMs: positiveInt.default(5_000).describe('How often the mirror is re-read from the store (pushes arrive in between).'),
    maxTokenLifetimeSec: positiveInt.default(86_400).describe("How long a revoked jti or session is remembered when the token's own expiry is unknown."),
  })
  .prefault({});

const redisNode = z.strictObject({ host: z.string().min(1), port: z.number().int().min(1).max(65535) });

const storeSection = z
  .discriminatedUnion('driver', [
    z.strictObject({ driver: z.literal('memory').describe('In-process state for a single instance (the embedded demo).') }),
    z.strictObject({
      driver: z.literal('redis').describe('Shared state for many replicas.'),
      url: redisUrl.optional().describe('redis:// or rediss:// URL of a single Redis (≥ 6.2).'),
      sentinel: z
        .strictObject({ name: z.string().min(1), sentinels: z.array(redisNode).min(1), password: z.string().optional() })
        .optional()
        .describe('Redis Sentinel: the master name and the sentinels.'),
      cluster: z.strictObject({ nodes: z.array(redisNode).min(1) }).optional().describe('Redis Cluster seed nodes.'),
      password: z.string().optional().describe('Redis password (use ${ENV}).'),
      keyPrefix: z.string().default('mcpgw:').describe('Prefix of every key and channel, so several deployments can share a Redis.'),
      connectTimeoutMs: positiveInt.default(2_000).describe('How long start-up waits for Redis (the gateway starts anyway and reports the store down).'),
    }),
  ])
  .default({ driver: 'memory' })
  .superRefine((store, ctx) => {
    if (store.driver !== 'redis') return;
    const modes = [store.url, store.sentinel, store.cluster].filter((mode) => mode !== undefined).length;
    if (modes !== 1) ctx.addIssue({ code: 'custom', message: 'set exactly one of url, sentinel or cluster', path: ['driver'] });
  });

/** `{{name}}`: a placeholder in a confirmation preview (an argument, or a field of the preview's result). */
export const PREVIEW_PLACEHOLDER = /\{\{([A-Za-z0-9_-]+)\}\}/g;
/** A preview argument that is a placeholder as a whole: `{{name}}` takes the confirmed call's argument `name`. */
export const PREVIEW_ARGUMENT = /^\{\{([A-Za-z0-9_-]+)\}\}$/;

/**
 * What a confirmation of this tool refers to, read before the person decides: another, read-only tool
 * of the same server, called with the caller's identity. Placeholders are whole values (not
 * interpolated into strings) so an id reaches the preview tool unchanged, with its JSON type.
 */
const confirmationPreview = z
  .strictObject({
    tool: z.string().min(1).describe('A read-only tool of the same server (annotated readOnlyHint) the caller may call without confirmation; otherwise no preview is shown.'),
    arguments: z
      .record(z.string(), z.unknown())
      .default({})
      .describe('Its arguments: a value "{{name}}" is the confirmed call\'s argument `name`, as is; any other value is passed unchanged. A named argument missing from the call means no preview.'),
    text: z
      .string()
      .min(1)
      .max(500)
      .optional()
      .describe("What the card shows: {{field}} is a top-level field of the preview's structuredContent (a string, number or boolean, else no preview). Default: the result's text content."),
  })
  .superRefine((preview, ctx) => {
    for (const [name, value] of Object.entries(preview.arguments)) {
      if (typeof value === 'string' && value.includes('{{') && !PREVIEW_ARGUMENT.test(value)) {
        ctx.addIssue({ code: 'custom', path: ['arguments', name], message: 'a placeholder must be the whole value, e.g. "{{employeeId}}"' });
      }
    }
    if (preview.text !== undefined && preview.text.replace(PREVIEW_PLACEHOLDER, '').includes('{{')) {
      ctx.addIssue({ code: 'custom', path: ['text'], message: 'placeholders look like {{field}} (letters, digits, _ and -)' });
    }
  });

const toolRule = z.strictObject({
  roles: roleList.optional().describe("Stricter roles for this tool: one of the server's roles AND one of these."),
  confirm: z.boolean().optional().describe('Force (true) or waive (false) human confirmation, overriding the annotation rule.'),
  hidden: z.boolean().optional().describe('Never show or call this tool.'),
  preview: confirmationPreview
    .optional()
    .describe("Shown on this tool's confirmations: what the arguments refer to (e.g. an employee's name), read with the caller's identity, within confirmations.previewTimeoutMs; if it fails, the card has no preview."),
});

/** A resource's or prompt's rule: like a tool's, without confirmation (reading runs nothing). */
const itemRule = (what: string) =>
  z.strictObject({
    roles: roleList.optional().describe(`Stricter roles for this ${what}: one of the server's roles AND one of these.`),
    hidden: z.boolean().optional().describe(`Never list, read or complete this ${what}; it answers like an unknown one.`),
  });
const resourceRule = itemRule('resource');
const promptRule = itemRule('prompt');

const assertionHeader = z
  .string()
  .min(1)
  .optional()
  .describe('Also send the identity assertion, as the bare JWT in this header of its own (`authorization` carries this credential).');

/** How the gateway authenticates to one server; the user's own token is never forwarded as is. */
const serverAuth = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('assertion').describe('assertion: the signed identity assertion (stdio servers get it in `_meta`).'),
    header: z.string().min(1).optional().describe('Header of the assertion (`authorization` sends `Bearer <jwt>`; default upstream.assertion.header).'),
  }),
  z.strictObject({ type: z.literal('none').describe('none: no credential and no identity (a public or third-party server).') }),
  z.strictObject({
    type: z.literal('bearer').describe("bearer: the server's own static key, sent as `Authorization: Bearer`."),
    token: z.string().min(1).describe('The key (use ${ENV}).'),
    assertionHeader,
  }),
  z.strictObject({
    type: z.literal('oauth2-client-credentials').describe('oauth2-client-credentials: a token of the gateway\'s own client, cached until shortly before it expires and refreshed once on a 401.'),
    tokenEndpoint: httpUrl.describe('Token endpoint (https, or http on loopback only).'),
    clientId: z.string().min(1).describe('Client id.'),
    clientSecret: z.string().min(1).describe('Client secret (use ${ENV}); sent with HTTP Basic authentication.'),
    scopes: z.array(z.string().min(1)).default([]).describe('Scopes to request.'),
    assertionHeader,
  }),
  z.strictObject({
    type: z.literal('token-exchange').describe("token-exchange: RFC 8693 at the identity provider, the caller's access token as subject; tokens cached per user and server until they expire."),
    audience: z.string().min(1).describe("The upstream's client id at the identity provider (the exchanged token's audience)."),
    tokenEndpoint: httpUrl.optional().describe("Token endpoint; default: discovered from the first of auth.issuers (OpenID configuration)."),
    clientId: z.string().min(1).optional().describe('The requesting client (default auth.clientId; it must be in the caller\'s token audience).'),
    clientSecret: z.string().min(1).describe('Secret of the requesting client (use ${ENV}).'),
    scopes: z.array(z.string().min(1)).default([]).describe('Scopes to request.'),
    assertionHeader,
  }),
]);

export const UPSTREAM_TRANSPORTS = ['streamable-http', 'sse', 'stdio'] as const;

const upstreamServerFields = z.strictObject({
  transport: z
    .enum(UPSTREAM_TRANSPORTS)
    .optional()
    .describe('streamable-http (default when url is set), sse (legacy HTTP+SSE, protocol 2024-11-05) or stdio (a child process; default when command is set).'),
  url: httpUrl.optional().describe("HTTP transports: the server's endpoint (Streamable HTTP, or the legacy server's SSE URL)."),
  command: z.string().min(1).optional().describe('stdio: the program to run (each replica runs its own, restarted with backoff when it exits).'),
  args: z.array(z.string()).default([]).describe('stdio: its arguments.'),
  env: z.record(z.string(), z.string()).default({}).describe('stdio: extra environment (use ${ENV}); only PATH, HOME and a few other safe variables are inherited.'),
  cwd: z.string().min(1).optional().describe('stdio: its working directory.'),
  description: z.string().default('').describe('Shown to users and to the model next to the server name.'),
  roles: roleList.min(1, 'must grant the server to at least one role').describe('Roles that may use this server (any one suffices).'),
  tools: z.record(z.string().min(1), toolRule).default({}).describe('Per-tool rules by the tool name the server publishes.'),
  resources: z
    .record(z.string().min(1), resourceRule)
    .default({})
    .describe('Per-resource rules by the URI the server publishes, or by its URI template (then for every URI read through that template).'),
  prompts: z.record(z.string().min(1), promptRule).default({}).describe('Per-prompt rules by the prompt name the server publishes.'),
  unprefixed: z
    .boolean()
    .default(false)
    .describe("Expose tools and prompts without the `server__` prefix, and resources under the server's own URIs, where nothing else collides."),
  headers: z.record(z.string(), z.string()).default({}).describe('HTTP transports: static headers for this server (use ${ENV} for secrets).'),
  auth: serverAuth.optional().describe('Credentials for this server (default: the identity assertion).'),
  timeoutMs: positiveInt.optional().describe('Deadline of one whole call to this server, retries and backoff included (default upstream.callTimeoutMs).'),
  maxTotalTimeoutMs: positiveInt
    .optional()
    .describe("Progress notifications from the server extend a call's deadline, up to this long in all (default upstream.maxTotalTimeoutMs)."),
});

const upstreamServer = upstreamServerFields
  .superRefine((server, ctx) => {
    const issue = (path: PropertyKey[], message: string): void => ctx.addIssue({ code: 'custom', path, message });
    if (server.url !== undefined && server.command !== undefined) issue(['command'], 'set either url (HTTP transports) or command (stdio), not both');
    const transport = server.transport ?? (server.command !== undefined ? 'stdio' : 'streamable-http');
    if (transport === 'stdio') {
      if (server.command === undefined) issue(['command'], 'is required for the stdio transport');
      if (Object.keys(server.headers).length > 0) issue(['headers'], 'stdio servers have no headers');
      if (server.auth !== undefined && server.auth.type !== 'assertion' && server.auth.type !== 'none') {
        issue(['auth', 'type'], 'stdio servers take only assertion (in _meta) or none');
      }
      if (server.auth?.type === 'assertion' && server.auth.header !== undefined) issue(['auth', 'header'], 'stdio servers have no headers');
    } else {
      if (server.url === undefined) issue(['url'], `is required for the ${transport} transport`);
      for (const key of ['command', 'cwd'] as const) if (server[key] !== undefined) issue([key], `only for the stdio transport`);
      if (server.args.length > 0) issue(['args'], 'only for the stdio transport');
      if (Object.keys(server.env).length > 0) issue(['env'], 'only for the stdio transport');
    }
    const auth = server.auth;
    if (auth !== undefined && 'assertionHeader' in auth && auth.assertionHeader?.toLowerCase() === 'authorization') {
      issue(['auth', 'assertionHeader'], `must not be authorization: the ${auth.type} credential uses it`);
    }
    const ownsAuthorization = auth !== undefined && auth.type !== 'none' && (auth.type !== 'assertion' || (auth.header ?? 'authorization').toLowerCase() === 'authorization');
    for (const name of Object.keys(server.headers)) {
      if (ownsAuthorization && name.toLowerCase() === 'authorization') issue(['headers', name], `conflicts with auth.type ${auth.type}, which sets authorization`);
    }
    for (const [name, rule] of Object.entries(server.tools)) {
      const preview = rule.preview;
      if (preview === undefined) continue;
      // A preview runs without a person's confirmation: it can never be the confirmed tool itself, nor one that needs confirming.
      if (preview.tool === name) issue(['tools', name, 'preview', 'tool'], 'must be another tool than the one confirmed');
      else if (server.tools[preview.tool]?.confirm === true) issue(['tools', name, 'preview', 'tool'], `${preview.tool} needs confirmation itself (confirm: true)`);
      else if (server.tools[preview.tool]?.hidden === true) issue(['tools', name, 'preview', 'tool'], `${preview.tool} is hidden`);
    }
    if (server.timeoutMs !== undefined && server.maxTotalTimeoutMs !== undefined && server.maxTotalTimeoutMs < server.timeoutMs) {
      issue(['maxTotalTimeoutMs'], 'must be at least timeoutMs');
    }
  })
  .transform((server) => ({ ...server, transport: server.transport ?? (server.command !== undefined ? ('stdio' as const) : ('streamable-http' as const)) }));

const llmSection = z
  .strictObject({
    provider: z.literal('anthropic').default('anthropic').describe('The model provider.'),
    model: z.string().min(1).default('claude-sonnet-4-6').describe('Model name.'),
    maxTokens: positiveInt.default(4_096).describe('Maximum output tokens per model turn.'),
    apiKey: z.string().optional().describe('Anthropic API key (use ${ANTHROPIC_API_KEY}).'),
    baseURL: httpUrl.optional().describe('API base URL (a proxy, or the simulated API in the demo).'),
    timeoutMs: positiveInt.default(60_000).describe('Timeout of one model request, SDK retries included (also bounded by the run deadline).'),
    maxRetries: nonNegativeInt.max(10).default(2).describe('SDK retries of 429/529/5xx.'),
    systemPrompt: z.string().optional().describe('Replaces the default system prompt.'),
  })
  .prefault({});

const rateTier = z.strictObject({
  name: z.string().min(1).describe('Tier name (metrics, errors).'),
  roles: roleList.describe('Users holding any of these roles are in this tier; an empty list marks the default tier.'),
  queriesPerHour: positiveInt.describe('AI queries (POST /api/query) per user per hour.'),
  requestsPerMinute: positiveInt.describe('API requests per user per minute.'),
  tokensPerDay: positiveInt.describe('Model tokens per user per day.'),
});

const limitsSection = z
  .strictObject({
    /** Ordered most generous first; a user gets the first tier one of whose roles they hold. */
    tiers: z
      .array(rateTier)
      .min(1)
      .default([
      { name: 'executive', roles: ['executive'], queriesPerHour: 1000, requestsPerMinute: 1200, tokensPerDay: 5_000_000 },
      { name: 'hr-write', roles: ['hr-write'], queriesPerHour: 500, requestsPerMinute: 600, tokensPerDay: 2_000_000 },
      { name: 'hr-read', roles: ['hr-read'], queriesPerHour: 200, requestsPerMinute: 600, tokensPerDay: 1_000_000 },
      { name: 'default', roles: [], queriesPerHour: 100, requestsPerMinute: 300, tokensPerDay: 500_000 },
    ])
      .describe('Rate-limit tiers, most generous first: a user gets the first tier one of whose roles they hold, else the default tier (no roles).'),
    anonymousRequestsPerMinute: positiveInt.default(120).describe('Failed authentications per client IP per minute; past it, further failures from that IP get 429 instead of 401. Valid tokens are never refused by it.'),
    maxToolResultBytes: positiveInt.default(16_384).describe('Tool results larger than this are truncated before the model sees them.'),
    maxIterations: positiveInt.max(50).default(8).describe('Maximum model turns in one run.'),
    runDeadlineMs: positiveInt.default(180_000).describe('Deadline of one run.'),
    maxQueryChars: positiveInt.default(8_000).describe('Longest accepted query.'),
  })
  .prefault({})
  .superRefine((limits, ctx) => {
    if (!limits.tiers.some((tier) => tier.roles.length === 0)) {
      ctx.addIssue({ code: 'custom', message: 'must include a default tier with no roles', path: ['tiers'] });
    }
  });

const sseSection = z
  .strictObject({
    heartbeatMs: positiveInt.default(15_000).describe('Interval of `: ping` comments on open streams.'),
    retryMs: positiveInt.default(2_000).describe('The `retry:` reconnection hint sent to clients.'),
    maxBufferedBytes: positiveInt
      .default(1_048_576)
      .describe('Bytes held for a reader before sending pauses; a reader that takes none of them within a heartbeat interval is disconnected.'),
  })
  .prefault({});

const runsSection = z
  .strictObject({
    detachGraceMs: nonNegativeInt.default(5_000).describe('How long a run survives with no reader before it is cancelled end to end (0 allowed).'),
    ttlMs: positiveInt.default(3_600_000).describe('How long run state and event logs are kept.'),
    conversationTtlMs: positiveInt.default(86_400_000).describe('How long a conversation is kept for follow-up questions.'),
    maxConversationTurns: positiveInt.default(20).describe('Earlier questions kept in a conversation.'),
    maxConversations: positiveInt
      .default(1_000)
      .describe(
        'Memory store only: conversations kept, at most (each holds its messages, a few KB); beyond it the least recently updated are deleted before runs.conversationTtlMs (metric gateway_conversations_evicted_total). On Redis conversations expire with runs.conversationTtlMs.',
      ),
    leaseTtlMs: z
      .number()
      .int()
      .min(1_000)
      .default(15_000)
      .describe('The lease a replica renews (every third of it) while it drives a run. A run whose lease lapsed is ended by its readers (GATEWAY_9003); a replica keeps a run going through a store outage for at most this long.'),
    outageBufferEvents: positiveInt
      .default(2_000)
      .describe('Events of one run held for the store while it is unreachable (readers on the driving replica get them at once); beyond this the run ends with GATEWAY_9002. Metric: gateway_run_log_buffered_events.'),
    appendBatchMs: nonNegativeInt
      .max(1_000)
      .default(10)
      .describe("How long a model text delta may wait to be written to the run's log together with those after it (one store round trip for many). Readers on the driving replica get it at once; the run's first event never waits; 0 writes each at once."),
    maxFinishedRuns: positiveInt
      .default(2_000)
      .describe('Memory store only: finished runs (state and event log, about 16 KB each) kept for resuming, at most; beyond it the oldest finished are deleted before runs.ttlMs (metric gateway_runs_evicted_total). On Redis finished runs expire with runs.ttlMs.'),
    elicitation: z
      .strictObject({
        timeoutMs: positiveInt
          .default(180_000)
          .describe(
            "How long a run waits for its owner to answer a tool server's question asked during a call (MCP elicitation); then the server is told `cancel` and the run goes on. The call's own ceiling (upstream.maxTotalTimeoutMs, or the server's) still bounds the wait, so keep this below it.",
          ),
      })
      .prefault({}),
    sampling: z
      .strictObject({
        enabled: z
          .boolean()
          .default(false)
          .describe(
            "Serve a tool server's sampling request (MCP sampling/createMessage) made during a run's tool call with the gateway's model, counted against the run owner's daily token budget. Off: the server gets JSON-RPC -32601, as REST calls always do.",
          ),
        maxTokens: positiveInt.default(1_024).describe("Most output tokens one sampling request may use (a server's larger maxTokens is lowered to this)."),
      })
      .prefault({}),
  })
  .prefault({});

const confirmationsSection = z
  .strictObject({
    ttlMs: positiveInt.default(300_000).describe('How long a confirmation waits for a decision.'),
    defaultRule: z.enum(['annotations', 'always', 'never']).default('annotations').describe('annotations: tools annotated destructiveHint, or lacking readOnlyHint, need confirmation; always; never.'),
    previewTimeoutMs: positiveInt
      .max(10_000)
      .default(2_000)
      .describe("How long creating a confirmation waits for its preview (servers.*.tools.*.preview); past it the confirmation is shown without one."),
  })
  .prefault({});

const mcpSection = z
  .strictObject({
    sessionIdleMs: positiveInt
      .default(1_800_000)
      .describe('A 2025-era /mcp session (Mcp-Session-Id) with no request for this long is closed; its client starts a new one. Sessions live in the replica that created them.'),
    maxSessions: positiveInt.default(10_000).describe('Most 2025-era /mcp sessions one replica holds; an initialize beyond it gets 503 MCP_2020 (retryable).'),
    pageSize: positiveInt
      .max(1_000)
      .default(100)
      .describe('Items per page of the aggregated resources/list, resources/templates/list and prompts/list on /mcp (the client follows nextCursor).'),
    inputTimeoutMs: positiveInt
      .default(600_000)
      .describe('How long a call waits for its MCP client to answer a request from the upstream (elicitation, sampling, roots) before the call is cancelled.'),
  })
  .prefault({});

const upstreamSection = z
  .strictObject({
    connectTimeoutMs: positiveInt.default(5_000).describe('Timeout of connecting to an upstream (version negotiation included).'),
    callTimeoutMs: positiveInt.default(30_000).describe('Default deadline of one whole upstream call, retries and backoff included.'),
    maxTotalTimeoutMs: positiveInt
      .default(300_000)
      .describe("Default ceiling of a call's deadline when the server reports progress (each progress notification restarts the deadline, up to this long in all)."),
    stdio: z
      .strictObject({
        restartBaseMs: positiveInt.default(500).describe('First delay before a stdio server that exited is started again (doubling per consecutive failure).'),
        restartMaxMs: positiveInt.default(30_000).describe('Longest delay between two restarts.'),
        crashLoopRestarts: positiveInt.default(5).describe('Consecutive failed starts after which the server counts as crash-looping: calls fail at once (MCP_2003) until a restart succeeds.'),
        stableAfterMs: positiveInt.default(30_000).describe('A process that ran this long before exiting is restarted after restartBaseMs again.'),
      })
      .prefault({}),
    retry: z
      .strictObject({
        attempts: positiveInt.max(10).default(3).describe('Attempts per call, the first included (retries happen only where repeating is safe).'),
        baseMs: positiveInt.default(100).describe('Base of the exponential backoff (full jitter).'),
        maxMs: positiveInt.default(5_000).describe('Cap of one backoff delay, Retry-After included.'),
      })
      .prefault({}),
    breaker: z
      .strictObject({
        consecutiveFailures: positiveInt.default(5).describe('Consecutive transient failures that open a server\'s circuit (calls then fail at once with MCP_2003).'),
        halfOpenAfterMs: positiveInt.default(10_000).describe('When an open circuit lets one probe call through.'),
      })
      .prefault({}),
    catalogueRefreshMs: positiveInt.default(60_000).describe('How often tool lists are re-read (they are also refreshed on tools/list_changed).'),
    pinning: z.enum(['off', 'log', 'hide']).default('log').describe('When a tool definition changes after first sight: off, log (and list for admins), or hide until an admin approves.'),
    assertion: z
      .strictObject({
        ttlSec: positiveInt.max(60).default(60).describe('Lifetime of an identity assertion (≤ 60 s).'),
        /** PEM PKCS#8 private key (RS256 or ES256), or a file holding it. Generated at start when neither is set. */
        privateKeyPem: z.string().optional().describe('PKCS#8 PEM signing key; every replica needs the same. Generated at start when neither this nor privateKeyFile is set.'),
        privateKeyFile: z.string().optional().describe('File holding the PKCS#8 PEM signing key.'),
        algorithm: z.enum(['RS256', 'ES256']).default('ES256').describe('Signing algorithm of the assertions.'),
        /** The assertions' `iss`; defaults to server.publicUrl, else http://host:port. */
        issuer: z.string().min(1).optional().describe('The assertions\' `iss`; defaults to server.publicUrl, else http://host:port.'),
        header: z.string().default('authorization').describe('Header carrying the assertion (`authorization` sends `Bearer <jwt>`).'),
      })
      .prefault({}),
  })
  .prefault({});

const shutdownSection = z
  .strictObject({ graceMs: nonNegativeInt.default(25_000).describe('How long running runs may finish after SIGTERM before they are cancelled.') })
  .prefault({});

const auditSection = z
  .strictObject({
    recentRecords: nonNegativeInt.default(1_000).describe('Most recent audit records kept in the store for the admin view and GET /api/admin/audit (0 keeps none; the audit log lines are the durable record).'),
    recentTtlMs: positiveInt.default(604_800_000).describe('How long the kept audit records live without a new one.'),
  })
  .prefault({});

const consoleSection = z
  .strictObject({
    signIn: z
      .strictObject({
        issuer: httpUrl.describe('The OIDC issuer the console signs in at (discovery from <issuer>/.well-known/openid-configuration); its tokens must be accepted by auth.'),
        clientId: z.string().min(1).describe('The public OAuth client of the console (no secret; authorization code with PKCE S256, this gateway\'s URL as redirect URI).'),
        scopes: z.string().default('openid profile email').describe('Scopes the console asks for.'),
      })
      .optional()
      .describe('Sign-in through the identity provider (OIDC authorization code + PKCE). Without it the console offers pasting a token.'),
  })
  .prefault({});

export const configSchema = z
  .strictObject({
    server: serverSection,
    logging: loggingSection,
    auth: authSection,
    revocation: revocationSection,
    store: storeSection,
    servers: z.record(serverName, upstreamServer).refine((servers) => Object.keys(servers).length > 0, 'must configure at least one server'),
    llm: llmSection,
    limits: limitsSection,
    sse: sseSection,
    runs: runsSection,
    confirmations: confirmationsSection,
    mcp: mcpSection,
    upstream: upstreamSection,
    shutdown: shutdownSection,
    audit: auditSection,
    console: consoleSection,
    metrics: z.strictObject({ enabled: z.boolean().default(true).describe('Serve Prometheus metrics at /metrics.') }).prefault({}),
  });

export type GatewayConfigInput = z.input<typeof configSchema>;
export type GatewayConfig = z.output<typeof configSchema>;
export type UpstreamServerConfig = GatewayConfig['servers'][string];
export type ToolRule = z.output<typeof toolRule>;
export type ItemRule = z.output<typeof resourceRule>;
export type RateTier = z.output<typeof rateTier>;
export type StoreConfig = GatewayConfig['store'];
