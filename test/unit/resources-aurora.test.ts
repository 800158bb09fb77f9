import { aurora } from '../../functions/resources/aurora.js';
import { clusterModuleSuite } from './db-cluster-suite.js';

// Aurora PostgreSQL; Aurora MySQL clusters are the same type and module (engines aurora-postgresql, aurora-mysql).
clusterModuleSuite({
  module: aurora,
  type: 'Aurora',
  engine: 'aurora-postgresql',
  engineVersion: '16.4',
  port: 5432,
  foreignEngine: 'docdb',
});
