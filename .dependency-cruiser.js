/**
 * The import direction of src/, checked in CI (`npm run lint:deps`):
 *
 *   app / main / cli (wiring)
 *   → http, mcp (the edges)
 *   → runs → gate → upstream, auth, policy, llm
 *   → store, ops, config, util, errors (the ground floor)
 *
 * policy/ imports only types (decide() stays a pure function of its inputs); dev/ (demo issuer,
 * sample servers, simulated model) is reached only through the demo wiring in main.ts.
 */
const edges = '^src/(http|mcp)/';
const middle = '^src/(runs|gate|upstream|auth|policy|llm)/';
const ground = '^src/(store|ops|config|util)/|^src/errors\\.ts$';
const wiring = '^src/(app|main|cli|cli-state)\\.ts$';

export default {
  forbidden: [
    {
      name: 'dev-only-through-the-demo',
      comment: 'The demo stack is wired in main.ts; nothing else in src/ may depend on dev/.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/dev/|^src/main\\.ts$' },
      to: { path: '^src/dev/' },
    },
    {
      name: 'policy-imports-only-types',
      comment: 'policy/ is pure: outside its own folder it may import types only.',
      severity: 'error',
      from: { path: '^src/policy/' },
      to: { pathNot: '^src/policy/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'nothing-below-imports-the-edges',
      comment: 'http/ and mcp/ serve requests; the layers below them never reach up.',
      severity: 'error',
      from: { path: `${middle}|${ground}` },
      to: { path: edges },
    },
    {
      name: 'the-ground-floor-imports-no-layer-above',
      comment: 'store, ops, config, util and the error catalogue know nothing of auth, policy, runs, upstream or the edges.',
      severity: 'error',
      from: { path: ground },
      to: { path: `${middle}|${edges}` },
    },
    {
      name: 'no-layer-imports-runs',
      comment: 'Agent runs sit on top of the gate; nothing below depends on them.',
      severity: 'error',
      from: { path: '^src/(gate|upstream|auth|policy|llm)/' },
      to: { path: '^src/runs/' },
    },
    {
      name: 'no-layer-below-the-gate-imports-it',
      comment: 'The tool gate calls upstream/ through ToolService; upstream, auth, policy and llm never call back into it.',
      severity: 'error',
      from: { path: '^src/(upstream|auth|policy|llm)/' },
      to: { path: '^src/gate/' },
    },
    {
      name: 'auth-does-not-reach-upstream',
      comment: 'Authentication is beneath the upstream layer (which asserts identities), never the other way round.',
      severity: 'error',
      from: { path: '^src/auth/' },
      to: { path: '^src/(upstream|llm)/' },
    },
    {
      name: 'only-the-entry-points-import-the-wiring',
      comment: 'createGateway and the CLI are composed at the top; no layer imports them.',
      severity: 'error',
      from: { path: '^src/', pathNot: wiring },
      to: { path: wiring },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
