/** Runs once before all test files: makes sure a real Redis is reachable (see redis.ts). */
import { ensureRedis } from './redis.js';

export default async function setup(): Promise<() => Promise<void>> {
  const redis = await ensureRedis();
  process.env.TEST_REDIS_URL = redis.url;
  return redis.stop;
}
