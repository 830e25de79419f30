/** Linux /proc readings of another process: CPU time and the open-files limit. */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** User + system CPU seconds the process has used so far. */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start at field 3; utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const { stdout } = await run('getconf', ['CLK_TCK']);
  return ticks / Number(stdout.trim());
}

/** The soft limit on open files of a process. */
export async function openFilesLimit(pid: number): Promise<number> {
  const limits = await readFile(`/proc/${pid}/limits`, 'utf8');
  const soft = /^Max open files\s+(\S+)/m.exec(limits)?.[1];
  return soft === undefined || soft === 'unlimited' ? Number.POSITIVE_INFINITY : Number(soft);
}

/** Raises a process's soft open-files limit to its hard limit (prlimit); a failure leaves it as it was. */
export async function raiseOpenFilesLimit(pid: number): Promise<number> {
  const limits = await readFile(`/proc/${pid}/limits`, 'utf8');
  const hard = /^Max open files\s+\S+\s+(\S+)/m.exec(limits)?.[1];
  if (hard !== undefined) await run('prlimit', [`--pid=${pid}`, `--nofile=${hard}:${hard}`]).catch(() => undefined);
  return openFilesLimit(pid);
}
