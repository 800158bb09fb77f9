import { clusterModule } from './db-cluster.js';

/**
 * Amazon DocumentDB clusters, managed through the RDS API (RDSClient, `rds:` actions, engine `docdb`). Large
 * cluster restores take hours, like Aurora's.
 */
export const documentdb = clusterModule({
  type: 'DocumentDB',
  engines: ['docdb'],
  instanceClass: 'db.t4g.medium',
  budgetSeconds: 4 * 3600,
  typicalRestore: { seconds: 3600, perGiBSeconds: 1.5 },
});
