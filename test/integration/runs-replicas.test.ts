/**
 * Agent runs across two gateway replicas sharing a real Redis (issue 5). The scenarios live in
 * runs-replicas-scenarios.ts so the redis-topologies suite runs the same ones on Sentinel and Cluster.
 */
import { redisStore } from '../helpers/stack.js';
import { defineRunReplicaScenarios } from './runs-replicas-scenarios.js';

defineRunReplicaScenarios({ name: 'one Redis', store: (name) => redisStore(name) });
