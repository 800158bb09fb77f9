import { clusterModule } from './db-cluster.js';

/**
 * Amazon Neptune clusters, managed through the RDS API (RDSClient, `rds:` actions, engine `neptune`). Large
 * cluster restores take hours, like Aurora's.
 */
export const neptune = clusterModule({
  type: 'Neptune',
  engines: ['neptune'],
  instanceClass: 'db.t4g.medium',
  budgetSeconds: 4 * 3600,
  typicalRestore: { seconds: 3600, perGiBSeconds: 1.5 },
});
