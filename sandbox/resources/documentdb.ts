import { clusterSimulation } from './db-cluster.js';

/** Amazon DocumentDB clusters (managed through the RDS API, engine docdb). */
export const documentdb = clusterSimulation({
  type: 'DocumentDB',
  engines: ['docdb'],
  engineVersion: '5.0.0',
  otherEngineVersion: '4.0.0',
  port: 27017,
  sourceName: 'catalog-docdb',
  sizeGiB: (random) => 50 * random.int(1, 20),
});
