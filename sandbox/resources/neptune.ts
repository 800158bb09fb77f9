import { clusterSimulation } from './db-cluster.js';

/** Amazon Neptune clusters (managed through the RDS API, engine neptune). */
export const neptune = clusterSimulation({
  type: 'Neptune',
  engines: ['neptune'],
  engineVersion: '1.3.2.1',
  otherEngineVersion: '1.3.1.0',
  port: 8182,
  sourceName: 'graph-neptune',
  sizeGiB: (random) => 50 * random.int(1, 20),
});
