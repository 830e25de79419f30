/** Logger settings for pino (through Fastify): JSON in production, readable lines in the demo, secrets redacted. */
import type { FastifyServerOptions } from 'fastify';
import type { GatewayConfig } from '../config/schema.js';

/** Anything that can carry a credential, wherever it appears in a log object. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  '*.token',
  '*.accessToken',
  '*.access_token',
  '*.refreshToken',
  '*.refresh_token',
  '*.idToken',
  '*.id_token',
  '*.logout_token',
  '*.apiKey',
  '*.password',
  '*.secret',
  '*.privateKeyPem',
];

export function loggerOptions(config: Pick<GatewayConfig['logging'], 'level' | 'pretty'>): FastifyServerOptions['logger'] {
  return {
    level: config.level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    ...(config.pretty
      ? { transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true } } }
      : {}),
  };
}
