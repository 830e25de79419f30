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
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8080),
    /** Public base URL of this gateway; the `iss` of identity assertions and the JWKS location. Defaults to http://host:port. */
    publicUrl: httpUrl.optional(),
    /** false, true, or the proxy addresses/CIDRs to trust for X-Forwarded-For. */
    trustProxy: z.union([z.boolean(), z.string(), z.array(z.string())]).default(false),
    bodyLimit: positiveInt.default(1_048_576),
    cors: z.strictObject({ origins: z.array(z.string()).default([]) }).prefault({}),
  })
  .prefault({});

const loggingSection = z
  .strictObject({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    pretty: z.boolean().default(false),
  })
  .prefault({});

const authSection = z.strictObject({
  /** Accepted `iss` values; several are allowed for split-horizon DNS (internal vs public issuer URL). */
  issuers: z.array(httpUrl).min(1, 'must list at least one issuer'),
  jwksUri: httpUrl,
  /** The OAuth client id of the gateway; `aud` or `azp` must name it, and its client roles count. */
  clientId: z.string().min(1),
  /** Extra accepted audiences besides clientId. */
  audiences: z.array(z.string().min(1)).default([]),
  algorithms: z.array(z.enum(SIGNING_ALGORITHMS)).min(1).default(['RS256', 'ES256', 'PS256']),
  clockToleranceSec: nonNegativeInt.max(300).default(30),
  /** Minimum time between two JWKS refetches caused by unknown `kid`s. */
  jwksCooldownMs: nonNegativeInt.default(30_000),
  jwksCacheMaxAgeMs: positiveInt.default(600_000),
  jwksTimeoutMs: positiveInt.default(5_000),
  /** The role allowed to use admin routes (revocations, pinning approvals). */
  adminRole: roleName.default('gateway-admin'),
});

const revocationSection = z
  .strictObject({
    /**
     * What to do when the store cannot be reached. Default fail-open: the mirror keeps serving the
     * revocations it already has (revocations are rare and tokens short-lived); fail-closed refuses
     * every request once the mirror is older than maxStalenessMs.
     */
    onStoreError: z.enum(['fail-open', 'fail-closed']).default('fail-open'),
    maxStalenessMs: positiveInt.default(30_000),
    resyncIntervalMs: positiveInt.default(5_000),
    /** How long a revoked jti or session is remembered when the token's own expiry is unknown. */
    maxTokenLifetimeSec: positiveInt.default(86_400),
  })
  .prefault({});

const redisNode = z.strictObject({ host: z.string().min(1), port: z.number().int().min(1).max(65535) });

const storeSection = z
  .discriminatedUnion('driver', [
    z.strictObject({ driver: z.literal('memory') }),
    z.strictObject({
      driver: z.literal('redis'),
      url: redisUrl.optional(),
      sentinel: z.strictObject({ name: z.string().min(1), sentinels: z.array(redisNode).min(1), password: z.string().optional() }).optional(),
      cluster: z.strictObject({ nodes: z.array(redisNode).min(1) }).optional(),
      password: z.string().optional(),
      keyPrefix: z.string().default('mcpgw:'),
      connectTimeoutMs: positiveInt.default(2_000),
    }),
  ])
  .default({ driver: 'memory' })
  .superRefine((store, ctx) => {
    if (store.driver !== 'redis') return;
    const modes = [store.url, store.sentinel, store.cluster].filter((mode) => mode !== undefined).length;
    if (modes !== 1) ctx.addIssue({ code: 'custom', message: 'set exactly one of url, sentinel or cluster', path: ['driver'] });
  });

const toolRule = z.strictObject({
  /** Stricter roles for this tool; a user needs one of the server's roles AND one of these. */
  roles: roleList.optional(),
  /** Force (true) or waive (false) human confirmation, overriding the annotation-based default. */
  confirm: z.boolean().optional(),
  /** Never show or call this tool. */
  hidden: z.boolean().optional(),
});

const upstreamServer = z.strictObject({
  url: httpUrl,
  description: z.string().default(''),
  /** Roles that may use this server (any one suffices). */
  roles: roleList.min(1, 'must grant the server to at least one role'),
  tools: z.record(z.string().min(1), toolRule).default({}),
  /** Expose this server's tools without the `server__` prefix when no other name collides. */
  unprefixed: z.boolean().default(false),
  /** Static headers sent to this server (e.g. its own API key, via ${ENV} interpolation). */
  headers: z.record(z.string(), z.string()).default({}),
  timeoutMs: positiveInt.optional(),
});

const llmSection = z
  .strictObject({
    provider: z.literal('anthropic').default('anthropic'),
    model: z.string().min(1).default('claude-sonnet-4-6'),
    maxTokens: positiveInt.default(4_096),
    apiKey: z.string().optional(),
    baseURL: httpUrl.optional(),
    timeoutMs: positiveInt.default(60_000),
    maxRetries: nonNegativeInt.max(10).default(2),
    systemPrompt: z.string().optional(),
  })
  .prefault({});

const rateTier = z.strictObject({
  name: z.string().min(1),
  /** A user is in this tier when they hold any of these roles; an empty list is the default tier. */
  roles: roleList,
  queriesPerHour: positiveInt,
  requestsPerMinute: positiveInt,
  tokensPerDay: positiveInt,
});

const limitsSection = z
  .strictObject({
    /** Ordered most generous first; a user gets the first tier one of whose roles they hold. */
    tiers: z.array(rateTier).min(1).default([
      { name: 'executive', roles: ['executive'], queriesPerHour: 1000, requestsPerMinute: 1200, tokensPerDay: 5_000_000 },
      { name: 'hr-write', roles: ['hr-write'], queriesPerHour: 500, requestsPerMinute: 600, tokensPerDay: 2_000_000 },
      { name: 'hr-read', roles: ['hr-read'], queriesPerHour: 200, requestsPerMinute: 600, tokensPerDay: 1_000_000 },
      { name: 'default', roles: [], queriesPerHour: 100, requestsPerMinute: 300, tokensPerDay: 500_000 },
    ]),
    /** Requests per minute per client IP before authentication succeeds. */
    anonymousRequestsPerMinute: positiveInt.default(120),
    maxToolResultBytes: positiveInt.default(16_384),
    maxIterations: positiveInt.max(50).default(8),
    runDeadlineMs: positiveInt.default(180_000),
    maxQueryChars: positiveInt.default(8_000),
  })
  .prefault({})
  .superRefine((limits, ctx) => {
    if (!limits.tiers.some((tier) => tier.roles.length === 0)) {
      ctx.addIssue({ code: 'custom', message: 'must include a default tier with no roles', path: ['tiers'] });
    }
  });

const sseSection = z
  .strictObject({
    heartbeatMs: positiveInt.default(15_000),
    retryMs: positiveInt.default(2_000),
    /** Bytes a slow reader may fall behind before it is disconnected. */
    maxBufferedBytes: positiveInt.default(1_048_576),
  })
  .prefault({});

const runsSection = z
  .strictObject({
    detachGraceMs: nonNegativeInt.default(5_000),
    ttlMs: positiveInt.default(3_600_000),
    conversationTtlMs: positiveInt.default(86_400_000),
    maxConversationTurns: positiveInt.default(20),
  })
  .prefault({});

const confirmationsSection = z
  .strictObject({
    ttlMs: positiveInt.default(300_000),
    /** Tools need confirmation when annotated destructiveHint, or when they lack readOnlyHint. */
    defaultRule: z.enum(['annotations', 'always', 'never']).default('annotations'),
  })
  .prefault({});

const upstreamSection = z
  .strictObject({
    connectTimeoutMs: positiveInt.default(5_000),
    callTimeoutMs: positiveInt.default(30_000),
    retry: z.strictObject({ attempts: positiveInt.max(10).default(3), baseMs: positiveInt.default(100), maxMs: positiveInt.default(5_000) }).prefault({}),
    breaker: z.strictObject({ consecutiveFailures: positiveInt.default(5), halfOpenAfterMs: positiveInt.default(10_000) }).prefault({}),
    catalogueRefreshMs: positiveInt.default(60_000),
    /** What to do when a tool definition changes after first sight. */
    pinning: z.enum(['off', 'log', 'hide']).default('log'),
    assertion: z
      .strictObject({
        ttlSec: positiveInt.max(60).default(60),
        /** PEM PKCS#8 private key (RS256 or ES256), or a file holding it. Generated at start when neither is set. */
        privateKeyPem: z.string().optional(),
        privateKeyFile: z.string().optional(),
        algorithm: z.enum(['RS256', 'ES256']).default('ES256'),
        /** The assertions' `iss`; defaults to server.publicUrl, else http://host:port. */
        issuer: z.string().min(1).optional(),
        header: z.string().default('authorization'),
      })
      .prefault({}),
  })
  .prefault({});

const shutdownSection = z.strictObject({ graceMs: nonNegativeInt.default(25_000) }).prefault({});

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
    upstream: upstreamSection,
    shutdown: shutdownSection,
    metrics: z.strictObject({ enabled: z.boolean().default(true) }).prefault({}),
  });

export type GatewayConfigInput = z.input<typeof configSchema>;
export type GatewayConfig = z.output<typeof configSchema>;
export type UpstreamServerConfig = GatewayConfig['servers'][string];
export type ToolRule = z.output<typeof toolRule>;
export type RateTier = z.output<typeof rateTier>;
export type StoreConfig = GatewayConfig['store'];
