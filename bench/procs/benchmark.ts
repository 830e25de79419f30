/** Runs one benchmark by name in a fresh process, so no benchmark inherits another's heap, JIT state or sockets. */
import { BENCHMARKS } from '../benchmarks.js';
import { serveRequests } from '../lib/child.js';

serveRequests(async (body) => {
  const benchmark = BENCHMARKS.find((candidate) => candidate.name === body);
  if (benchmark === undefined) throw new Error(`no benchmark named ${String(body)}`);
  process.stderr.write(`\n>> ${benchmark.name}: ${benchmark.description}\n`);
  return benchmark.run();
});
