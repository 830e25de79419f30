/**
 * Real Redis topologies on loopback, started from Debian's redis-server and redis-sentinel:
 * a Sentinel set (one master, one replica, three sentinels) that can fail over on demand, and a
 * three-master Cluster made with `redis-cli --cluster create`. Every process is this helper's own
 * and is stopped by its pid.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from '../helpers/ports.js';

const run = promisify(execFile);
const HOST = '127.0.0.1';

interface Proc {
  child: ChildProcess;
  exited: Promise<unknown>;
}

function start(command: string, args: string[]): Proc {
  const child = spawn(command, args, { stdio: 'ignore' });
  const exited = once(child, 'exit').catch(() => undefined);
  return { child, exited };
}

async function stop(proc: Proc): Promise<void> {
  if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGTERM');
  await proc.exited;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(100);
  }
}

/** One short-lived connection for an admin command (INFO, SENTINEL, CLUSTER) to one node. */
export async function adminCommand(port: number, ...args: string[]): Promise<unknown> {
  const client = new Redis({ host: HOST, port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, enableOfflineQueue: false });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const [name, ...rest] = args;
    return await client.call(name!, ...rest);
  } finally {
    client.disconnect();
  }
}

function redisServer(port: number, dir: string, extra: string[] = []): Proc {
  return start('redis-server', ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no', '--dir', dir, ...extra]);
}

async function answers(port: number): Promise<true | undefined> {
  return (await adminCommand(port, 'PING')) === 'PONG' ? true : undefined;
}

export interface SentinelSet {
  readonly name: string;
  readonly sentinels: { host: string; port: number }[];
  /** The port of the current master, as the sentinels report it. */
  masterPort(): Promise<number>;
  /**
   * SENTINEL FAILOVER, then waits until every sentinel names the former replica as master and the
   * former master has been turned into its replica (in sync), so the set is whole again: the port
   * of the new master.
   */
  failover(): Promise<number>;
  /**
   * An unplanned failover: SIGKILL the master, wait until the sentinels have promoted the replica,
   * then start the killed node again (empty) and wait until the sentinels have made it the new
   * master's replica (in sync). Returns the port of the new master.
   */
  killMaster(): Promise<number>;
  close(): Promise<void>;
}

export async function startSentinelSet(): Promise<SentinelSet> {
  const name = 'gwmaster';
  const dir = await mkdtemp(join(tmpdir(), 'redis-sentinel-'));
  const procs: Proc[] = [];
  /** The two redis-server processes by port (a killed one is replaced). */
  const servers = new Map<number, Proc>();
  try {
    const [masterPort, replicaPort] = [await freePort(), await freePort()];
    servers.set(masterPort, redisServer(masterPort, dir));
    servers.set(replicaPort, redisServer(replicaPort, dir, ['--replicaof', HOST, String(masterPort)]));
    await until('master and replica', async () => ((await answers(masterPort)) && (await answers(replicaPort)) ? true : undefined));
    await until('replication link', async () => (String(await adminCommand(replicaPort, 'INFO', 'replication')).includes('master_link_status:up') ? true : undefined));

    const sentinels: { host: string; port: number }[] = [];
    for (let i = 0; i < 3; i += 1) {
      const port = await freePort();
      const conf = join(dir, `sentinel-${port}.conf`);
      await writeFile(
        conf,
        [
          `port ${port}`,
          `bind ${HOST}`,
          `dir ${dir}`,
          `sentinel monitor ${name} ${HOST} ${masterPort} 2`,
          `sentinel down-after-milliseconds ${name} 2000`,
          `sentinel failover-timeout ${name} 10000`,
          `sentinel parallel-syncs ${name} 1`,
          '',
        ].join('\n'),
      );
      procs.push(start('redis-sentinel', [conf]));
      sentinels.push({ host: HOST, port });
    }
    // Ready when every sentinel sees the replica and the two other sentinels.
    for (const sentinel of sentinels) {
      await until(`sentinel ${sentinel.port} to know the set`, async () => {
        const replicas = (await adminCommand(sentinel.port, 'SENTINEL', 'REPLICAS', name)) as unknown[];
        const peers = (await adminCommand(sentinel.port, 'SENTINEL', 'SENTINELS', name)) as unknown[];
        return replicas.length === 1 && peers.length === 2 ? true : undefined;
      });
    }
    const masterPortNow = async (): Promise<number> => {
      const [, port] = (await adminCommand(sentinels[0]!.port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name)) as [string, string];
      return Number(port);
    };
    const promotedFrom = (before: number): Promise<number> =>
      until('the failover', async () => {
        const ports = await Promise.all(
          sentinels.map(async (s) => Number(((await adminCommand(s.port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name)) as [string, string])[1])),
        );
        const promoted = ports[0]!;
        if (promoted === before || !ports.every((port) => port === promoted)) return undefined;
        // The promoted node accepts writes.
        return String(await adminCommand(promoted, 'ROLE')).startsWith('master') ? promoted : undefined;
      }, 60_000);
    // Sentinel demotes a former master only once it has seen it still claim the role for a while
    // (about 8 s); until then a client still connected to it writes where nobody reads.
    const replicating = (port: number, from: number): Promise<true> =>
      until(`node ${port} to replicate from ${from}`, async () => {
        const info = String(await adminCommand(port, 'INFO', 'replication'));
        return info.includes('role:slave') && info.includes(`master_port:${from}`) && info.includes('master_link_status:up') ? true : undefined;
      }, 60_000);
    return {
      name,
      sentinels,
      masterPort: masterPortNow,
      async failover() {
        const before = await masterPortNow();
        await adminCommand(sentinels[0]!.port, 'SENTINEL', 'FAILOVER', name);
        const after = await promotedFrom(before);
        await replicating(before, after);
        return after;
      },
      async killMaster() {
        const before = await masterPortNow();
        const killed = servers.get(before)!;
        killed.child.kill('SIGKILL');
        await killed.exited;
        const after = await promotedFrom(before);
        servers.set(before, redisServer(before, dir));
        await replicating(before, after);
        return after;
      },
      async close() {
        await Promise.all([...procs, ...servers.values()].map(stop));
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await Promise.all([...procs, ...servers.values()].map(stop));
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

export interface RedisClusterSet {
  readonly nodes: { host: string; port: number }[];
  close(): Promise<void>;
}

export async function startRedisCluster(): Promise<RedisClusterSet> {
  const dir = await mkdtemp(join(tmpdir(), 'redis-cluster-'));
  const procs: Proc[] = [];
  try {
    const nodes: { host: string; port: number }[] = [];
    for (let i = 0; i < 3; i += 1) {
      const port = await freePort();
      procs.push(redisServer(port, dir, ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', '2000']));
      nodes.push({ host: HOST, port });
    }
    for (const node of nodes) await until(`cluster node ${node.port}`, () => answers(node.port));
    await run('redis-cli', ['--cluster', 'create', ...nodes.map((node) => `${HOST}:${node.port}`), '--cluster-replicas', '0', '--cluster-yes']);
    for (const node of nodes) {
      await until(`cluster_state:ok on ${node.port}`, async () => (String(await adminCommand(node.port, 'CLUSTER', 'INFO')).includes('cluster_state:ok') ? true : undefined));
    }
    return {
      nodes,
      async close() {
        await Promise.all(procs.map(stop));
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await Promise.all(procs.map(stop));
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
