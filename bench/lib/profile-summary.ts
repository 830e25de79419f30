/**
 * Summarises a V8 CPU profile (`node --cpu-prof`, or the inspector's Profiler) as plain text: the
 * functions with the most self time, and self time grouped by package (or by gateway module), so a
 * profile can be checked into bench/ as a few readable lines instead of megabytes of JSON.
 */
import { readFile } from 'node:fs/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a frame's code lives: an npm package, a gateway source folder, Node itself, or V8 (GC, idle). */
function owner(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const packageMatch = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (packageMatch?.[1] !== undefined) return packageMatch[1];
  const sourceMatch = /\/(src|bench)\/(.+?)(?:\/[^/]+)?\.ts$/.exec(url);
  if (sourceMatch !== null) return `${sourceMatch[1]}/${sourceMatch[2]}`;
  // node:internal/deps/undici/undici, node:internal/webstreams/readablestream: the folder says what it is.
  if (url.startsWith('node:')) return url.split('/').slice(0, url.startsWith('node:internal/deps/') ? 3 : 2).join('/');
  return url.split('/').slice(-2).join('/');
}

function percent(part: number, whole: number): string {
  return `${((100 * part) / whole).toFixed(1)}%`;
}

/** Text summary: `top` functions by self time and every owner above 0.5 % (idle time excluded). */
export function summarizeProfile(profile: CpuProfile, top = 25): string {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  for (let index = 0; index < profile.samples.length; index++) {
    const id = profile.samples[index]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0));
  }
  const byFunction = new Map<string, number>();
  const byOwner = new Map<string, number>();
  let busy = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame;
    if (frame === undefined || frame.functionName === '(idle)' || frame.functionName === '(program)') continue;
    busy += us;
    const where = owner(frame.url, frame.functionName);
    const name = `${frame.functionName || '(anonymous)'} ${where}${frame.url === '' ? '' : `:${frame.lineNumber + 1}`}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    byOwner.set(where, (byOwner.get(where) ?? 0) + us);
  }
  const lines = [`busy ${(busy / 1000).toFixed(0)} ms of samples (idle and (program) excluded)`, '', 'self time by package / module:'];
  for (const [where, us] of [...byOwner].sort((a, b) => b[1] - a[1])) {
    if (us / busy < 0.005) break;
    lines.push(`  ${percent(us, busy).padStart(6)}  ${where}`);
  }
  lines.push('', `top ${top} functions by self time:`);
  for (const [name, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${percent(us, busy).padStart(6)}  ${name}`);
  return lines.join('\n');
}

export async function summarizeProfileFile(path: string, top?: number): Promise<string> {
  return summarizeProfile(JSON.parse(await readFile(path, 'utf8')) as CpuProfile, top);
}
