/**
 * Reads the Dockerfile into stages of instructions, so the image recipe check performs exactly the
 * steps the image build does. Only the forms the project's Dockerfile uses are understood (FROM … AS,
 * ARG, ENV, WORKDIR, COPY [--from], RUN in shell form, USER, EXPOSE, exec-form HEALTHCHECK/ENTRYPOINT/CMD);
 * anything else is an error, so a Dockerfile change the check cannot follow fails CI instead of being skipped.
 * Written here because no maintained npm package runs a Dockerfile without a container engine.
 */
export interface Instruction {
  readonly op: string;
  readonly args: string;
}

export interface Stage {
  readonly name: string;
  readonly image: string;
  readonly instructions: Instruction[];
}

export interface Recipe {
  readonly args: Record<string, string>;
  readonly stages: Stage[];
}

const KNOWN = new Set(['ARG', 'ENV', 'WORKDIR', 'COPY', 'RUN', 'USER', 'EXPOSE', 'HEALTHCHECK', 'ENTRYPOINT', 'CMD']);

/** Joins `\`-continued lines and drops comments and blank lines. */
function logicalLines(text: string): string[] {
  const lines: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (current === '' && (line.trim() === '' || line.trimStart().startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1).trim()} `;
      continue;
    }
    lines.push((current + line.trim()).trim());
    current = '';
  }
  if (current !== '') lines.push(current.trim());
  return lines;
}

export function substitute(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, braced?: string, bare?: string) => {
    const name = braced ?? bare ?? '';
    return vars[name] ?? whole;
  });
}

export function parseDockerfile(text: string): Recipe {
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of logicalLines(text)) {
    const space = line.indexOf(' ');
    const op = (space < 0 ? line : line.slice(0, space)).toUpperCase();
    const rest = space < 0 ? '' : line.slice(space + 1).trim();
    if (op === 'FROM') {
      const match = /^(\S+)\s+AS\s+(\S+)$/i.exec(rest);
      if (match === null) throw new Error(`FROM without a stage name: ${line}`);
      stages.push({ image: substitute(match[1] ?? '', args), name: match[2] ?? '', instructions: [] });
      continue;
    }
    if (!KNOWN.has(op)) throw new Error(`instruction the recipe check cannot perform: ${line}`);
    const stage = stages.at(-1);
    if (stage === undefined) {
      if (op !== 'ARG') throw new Error(`${op} before the first FROM`);
      const [name, value = ''] = rest.split('=', 2);
      args[name ?? ''] = value;
      continue;
    }
    stage.instructions.push({ op, args: rest });
  }
  return { args, stages };
}

/** An exec-form (JSON array) command; shell form is refused because a shell as PID 1 would swallow SIGTERM. */
export function execForm(args: string): string[] {
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((part): part is string => typeof part === 'string')) throw new Error(`not an exec-form command: ${args}`);
  return parsed;
}

/** HEALTHCHECK [--option=value …] CMD [...] → the command. */
export function healthcheckCommand(args: string): string[] {
  const at = args.indexOf('CMD ');
  if (at < 0) throw new Error(`HEALTHCHECK without CMD: ${args}`);
  return execForm(args.slice(at + 4).trim());
}

/** `KEY=value [KEY2=value2]` (values without spaces, as the Dockerfile writes them). */
export function envPairs(args: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of args.split(/\s+/)) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new Error(`ENV needs KEY=value: ${args}`);
    env[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return env;
}

/** COPY [--from=stage] src… dest */
export function copySpec(args: string): { from?: string; sources: string[]; dest: string } {
  const parts = args.split(/\s+/);
  let from: string | undefined;
  while (parts[0]?.startsWith('--') === true) {
    const flag = parts.shift() ?? '';
    const match = /^--from=(.+)$/.exec(flag);
    if (match === null) throw new Error(`COPY flag the recipe check cannot perform: ${flag}`);
    from = match[1];
  }
  const dest = parts.pop();
  if (dest === undefined || parts.length === 0) throw new Error(`COPY needs sources and a destination: ${args}`);
  return { ...(from === undefined ? {} : { from }), sources: parts, dest };
}
