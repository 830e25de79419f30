/** The request path's precomputed parts: security headers built once, access-log sampling. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { demoConfig } from '../../src/config/demo-profile.js';
import { logsAccess } from '../../src/http/edge.js';
import { securityHeaders } from '../../src/http/security-headers.js';

const endpoints = {
  issuerUrl: 'http://127.0.0.1:1/realms/demo',
  jwksUri: 'http://127.0.0.1:1/realms/demo/certs',
  clientId: 'mcp-gateway',
  servers: { hr: 'http://127.0.0.1:2/mcp', finance: 'http://127.0.0.1:3/mcp', sales: 'http://127.0.0.1:4/mcp', support: 'http://127.0.0.1:5/mcp' },
  simulatedModelUrl: 'http://127.0.0.1:6',
};

describe('access-log sampling', () => {
  it('always logs failures, whatever the rate', () => {
    expect(logsAccess(404, 0, () => 0.99)).toBe(true);
    expect(logsAccess(500, 0, () => 0.99)).toBe(true);
  });

  it('logs every success at rate 1 and none at rate 0', () => {
    expect(logsAccess(200, 1, () => 0.999)).toBe(true);
    expect(logsAccess(200, 0, () => 0)).toBe(false);
  });

  it('logs about the configured share of successes', () => {
    let draw = 0;
    const sequence = (): number => (draw++ % 100) / 100;
    const logged = Array.from({ length: 1_000 }, () => logsAccess(200, 0.1, sequence)).filter(Boolean).length;
    expect(logged).toBe(100);
  });

  it('is a configuration key between 0 and 1, default 1', () => {
    const base = demoConfig(endpoints, {});
    expect(parseConfig(base, {}).logging.accessLogSampleRate).toBe(1);
    expect(parseConfig({ ...base, logging: { accessLogSampleRate: 0.25 } }, {}).logging.accessLogSampleRate).toBe(0.25);
    expect(() => parseConfig({ ...base, logging: { accessLogSampleRate: 2 } }, {})).toThrow();
  });
});

describe('security headers', () => {
  it("are helmet's, computed once from the configuration", () => {
    const headers = securityHeaders(parseConfig(demoConfig(endpoints, {}), {}));
    expect(headers['content-security-policy']).toContain("default-src 'self'");
    expect(headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['cross-origin-resource-policy']).toBe('same-origin');
    expect(headers['strict-transport-security']).toMatch(/max-age=/);
    expect(Object.isFrozen(headers)).toBe(true);
  });
});
