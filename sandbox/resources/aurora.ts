import { clusterSimulation } from './db-cluster.js';

/** Amazon Aurora PostgreSQL clusters (the sandbox backs up aurora-postgresql; aurora-mysql is the same type). */
export const aurora = clusterSimulation({
  type: 'Aurora',
  engines: ['aurora-postgresql', 'aurora-mysql'],
  engineVersion: '16.4',
  otherEngineVersion: '16.6',
  port: 5432,
  sourceName: 'orders-aurora',
  sizeGiB: (random) => 100 * random.int(1, 20),
});
