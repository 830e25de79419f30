/**
 * Builds a gateway from a validated config and its dependencies. Importing this module does nothing;
 * tests build several gateways in one process, each on port 0.
 */
import type { FastifyInstance } from 'fastify';
import type { GatewayConfig } from './config/schema.js';
import { RevocationMirror } from './auth/revocation.js';
import { TokenVerifier } from './auth/token-verifier.js';
import { authHook, type AuthContext } from './http/authenticate.js';
import { createEdge } from './http/edge.js';
import { PublicUrl } from './http/public-url.js';
import { RateLimits } from './http/rate-limit.js';
import { registerOpenApi } from './http/openapi.js';
import { registerAdminRoutes } from './http/routes/admin.js';
import { registerConsole } from './http/routes/console.js';
import { registerConversationRoutes } from './http/routes/conversations.js';
import { registerHealthRoutes } from './http/routes/health.js';
import { registerResourceMetadata } from './http/routes/resource-metadata.js';
import { registerBackchannelLogout, registerRevocationAdminRoutes } from './http/routes/revocations.js';
import { registerToolRoutes } from './http/routes/tools.js';
import { registerJwksRoute, registerPinAdminRoutes } from './http/routes/upstream-admin.js';
import { registerRunRoutes } from './http/routes/runs.js';
import { registerMcpEndpoint } from './mcp/mcp-endpoint.js';
import { SseRegistry } from './http/sse.js';
import { AnthropicProvider } from './llm/anthropic-provider.js';
import { AgentLoop } from './runs/agent-loop.js';
import { Confirmations } from './gate/confirmations.js';
import { ConfirmationPreviews } from './gate/confirmation-preview.js';
import { ResourceGate } from './gate/resource-gate.js';
import { ToolGate } from './gate/tool-gate.js';
import { Conversations } from './runs/conversations.js';
import { RunJournals } from './runs/run-journal.js';
import { RunManager } from './runs/run-manager.js';
import { RunStore } from './runs/run-store.js';
import type { RunEvent } from './runs/events.js';
import { RunElicitations } from './runs/run-elicitations.js';
import { RunRelays } from './runs/run-relay.js';
import { RunSampling } from './runs/run-sampling.js';
import { TokenBudget } from './runs/token-budget.js';
import { AssertionSigner, loadSigningKey } from './upstream/identity-assertion.js';
import { ToolService } from './upstream/tool-service.js';
import { AuditLog } from './ops/audit.js';
import { Health } from './ops/health.js';
import { Metrics } from './ops/metrics.js';
import { createStore } from './store/create-store.js';
import type { Store } from './store/types.js';

export interface GatewayDependencies {
  /** A store to share (tests pass one); otherwise one is built from config.store and closed with the gateway. */
  store?: Store;
  /** Extra routes to mount (the embedded demo adds its /dev routes). */
  extraRoutes?: (app: FastifyInstance) => void | Promise<void>;
  /** Export process-level metrics (only once per process). */
  processMetrics?: boolean;
}

export interface Gateway {
  readonly app: FastifyInstance;
  readonly config: GatewayConfig;
  readonly store: Store;
  readonly metrics: Metrics;
  readonly health: Health;
  readonly revocations: RevocationMirror;
  readonly tools: ToolService;
  readonly signer: AssertionSigner;
  readonly runs: RunManager;
  readonly sse: SseRegistry;
  /** Starts listening; resolves with the base URL. */
  listen(): Promise<string>;
  /** Graceful shutdown: not ready → stop accepting → drain → close dependencies. */
  close(): Promise<void>;
}

export async function createGateway(config: GatewayConfig, deps: GatewayDependencies = {}): Promise<Gateway> {
  const metrics = new Metrics();
  if (deps.processMetrics === true) metrics.collectProcessMetrics();
  const health = new Health();
  const app = await createEdge(config, metrics);
  const ownsStore = deps.store === undefined;
  const store = deps.store ?? (await createStore(config.store, app.log));

  health.register({
    name: 'store',
    role: 'store',
    async check() {
      const result = await store.health();
      metrics.storeUp.set(result.ok ? 1 : 0);
      return result.ok ? { state: 'up', detail: `${store.kind} ${result.latencyMs} ms` } : { state: 'down', detail: result.error };
    },
  });

  const verifier = new TokenVerifier(config.auth);
  verifier.start();
  health.register({ name: 'issuer', role: 'identity-provider', check: () => verifier.issuerStatus() });

  const revocations = new RevocationMirror(store, config.revocation, metrics, app.log);
  await revocations.start();
  health.register({ name: 'revocations', role: 'revocations', check: () => revocations.status() });
  const rateLimits = new RateLimits(store, config.limits, metrics, app.log);
  const publicUrl = new PublicUrl(config.server.publicUrl, config.server.host, config.server.port);
  const auth: AuthContext = { verifier, revocations, rateLimits, metrics, config, publicUrl };

  const assertionIssuer = config.upstream.assertion.issuer ?? config.server.publicUrl ?? `http://${config.server.host}:${config.server.port}`;
  const signer = new AssertionSigner(await loadSigningKey(config.upstream.assertion), assertionIssuer, config.upstream.assertion.ttlSec);
  const audit = new AuditLog(app.log, { store, maxRecords: config.audit.recentRecords, ttlMs: config.audit.recentTtlMs });
  const tools = new ToolService(config, signer, store, metrics, audit, app.log);
  for (const server of Object.keys(config.servers)) {
    health.register({
      name: `upstream:${server}`,
      role: 'upstream',
      check() {
        const status = tools.serverStatus(server);
        // Never tried yet (start-up) is `degraded`, not `down`: see the matrix in ops/health.ts.
        const state = status.ok ? 'up' : status.connecting === true ? 'degraded' : 'down';
        return { state, ...(status.detail === undefined ? {} : { detail: status.detail }) };
      },
    });
  }
  const confirmations = new Confirmations(store, config.confirmations.ttlMs, metrics, audit, app.log);
  const gate = new ToolGate(tools, confirmations, new ConfirmationPreviews(config.servers, config.confirmations.previewTimeoutMs, app.log));

  const model = new AnthropicProvider(config.llm);
  // A rejected API key degrades the instance (direct tool calls still work) and shows before any query fails.
  health.register({
    name: 'model',
    role: 'model',
    async check() {
      const status = await model.credentialStatus();
      return { state: status.ok ? 'up' : 'down', ...(status.detail === undefined ? {} : { detail: status.detail }) };
    },
  });
  void model.credentialStatus();
  const runStore = new RunStore(store, config.runs.ttlMs, app.log, { max: config.runs.maxFinishedRuns, onEvict: () => metrics.runsEvicted.inc() });
  const journals = new RunJournals(
    runStore,
    { bufferEvents: config.runs.outageBufferEvents, maxOutageMs: config.runs.leaseTtlMs, batchMs: config.runs.appendBatchMs },
    metrics,
    app.log,
  );
  const conversations = new Conversations(store, config.runs.conversationTtlMs, config.runs.maxConversationTurns, app.log, {
    max: config.runs.maxConversations,
    onEvict: () => metrics.conversationsEvicted.inc(),
  });
  const budget = new TokenBudget(store);
  const emit = (runId: string, event: RunEvent): Promise<string> => journals.emit(runId, event);
  const elicitations = new RunElicitations({ store, emit, audit, metrics, timeoutMs: config.runs.elicitation.timeoutMs, pollMs: Math.floor(config.runs.leaseTtlMs / 3), log: app.log });
  const sampling = new RunSampling({ model, budget, config, metrics, audit, emit, write: (runId, write) => journals.write(runId, write) });
  const loop = new AgentLoop({
    journals,
    tools,
    gate,
    model,
    conversations,
    budget,
    relays: new RunRelays(elicitations, sampling),
    config,
    metrics,
    log: app.log,
  });
  const runs = new RunManager({ store, runs: runStore, journals, loop, confirmations, conversations, config, metrics, log: app.log });
  const sse = new SseRegistry(config.sse, metrics);

  await registerOpenApi(app, config.server.publicUrl);
  registerHealthRoutes(app, health, config.metrics.enabled ? metrics : undefined);
  await registerConsole(app, config);
  registerJwksRoute(app, signer);
  registerResourceMetadata(app, config, publicUrl);
  await registerBackchannelLogout(app, verifier, revocations, config);
  let mcpEndpoint: { close(): Promise<void> } | undefined;
  await app.register(async (api) => {
    api.decorateRequest('identity', undefined);
    api.addHook('onRequest', authHook(auth));
    registerRevocationAdminRoutes(api, revocations, config);
    registerPinAdminRoutes(api, tools, config);
    registerToolRoutes(api, gate, config, (identity, pending, decision) => runs.decide(identity, pending, decision));
    registerRunRoutes(api, { manager: runs, runs: runStore, loop, tools, sse, rateLimits, config, elicitations });
    registerConversationRoutes(api, conversations, tools.catalogue);
    registerAdminRoutes(api, { health, tools, audit, config });
    mcpEndpoint = registerMcpEndpoint(api, gate, new ResourceGate(tools.content), config, app.log, await signer.derivedSecret('mcp requestState'));
  });
  tools.start();
  if (deps.extraRoutes !== undefined) await deps.extraRoutes(app);

  let closing: Promise<void> | undefined;
  const close = async (): Promise<void> => {
    // Not ready → no new runs → running ones get the grace period → readers told to reconnect elsewhere.
    health.markShuttingDown();
    const started = Date.now();
    await runs.shutdown(config.shutdown.graceMs);
    await sse.drainThenClose(Math.min(2_000, Math.max(100, config.shutdown.graceMs - (Date.now() - started))));
    verifier.stop();
    await mcpEndpoint?.close();
    // Requests still in flight get what is left of a short drain; then every connection is closed,
    // including ones that never sent a request, which Node would otherwise hold until its next
    // timeout sweep (up to 30 s) and keep close() waiting.
    const drainMs = Math.min(2_000, Math.max(100, config.shutdown.graceMs - (Date.now() - started)));
    const cutOff = setTimeout(() => app.server.closeAllConnections(), drainMs);
    await app.close();
    clearTimeout(cutOff);
    await tools.close();
    rateLimits.close();
    await revocations.stop();
    if (ownsStore) await store.close();
  };

  return {
    app,
    config,
    store,
    metrics,
    health,
    revocations,
    tools,
    signer,
    runs,
    sse,
    async listen() {
      await app.listen({ host: config.server.host, port: config.server.port });
      const address = app.server.address();
      if (address === null || typeof address === 'string') throw new Error('gateway is not listening on TCP');
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      const url = `http://${host}:${address.port}`;
      publicUrl.listeningOn(url);
      return url;
    },
    close() {
      closing ??= close();
      return closing;
    },
  };
}
