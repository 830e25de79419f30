/** Liveness (the process answers) and readiness (the GAP-008 matrix in ops/health.ts), plus the metrics scrape. */
import type { FastifyInstance } from 'fastify';
import { readinessHttpStatus, type Health } from '../../ops/health.js';
import type { Metrics } from '../../ops/metrics.js';

export function registerHealthRoutes(app: FastifyInstance, health: Health, metrics: Metrics | undefined): void {
  app.get('/health/live', async () => ({ status: 'alive' }));

  app.get('/health/ready', async (_request, reply) => {
    const report = await health.readiness();
    return reply.status(readinessHttpStatus(report.status)).header('cache-control', 'no-store').send(report);
  });

  if (metrics !== undefined) {
    app.get('/metrics', async (_request, reply) => {
      const body = await metrics.registry.metrics();
      return reply.type(metrics.registry.contentType).send(body);
    });
  }
}
