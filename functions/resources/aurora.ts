import { clusterModule } from './db-cluster.js';

/**
 * Amazon Aurora (PostgreSQL- and MySQL-compatible) DB clusters. A restore of a large cluster can take hours
 * (the cluster volume is rebuilt from the snapshot), and the drill instance adds ten minutes or so.
 */
export const aurora = clusterModule({
  type: 'Aurora',
  engines: ['aurora-postgresql', 'aurora-mysql'],
  instanceClass: 'db.t4g.medium',
  budgetSeconds: 4 * 3600,
  typicalRestore: { seconds: 3600, perGiBSeconds: 1.5 },
  sqlDataChecks: true,
});
