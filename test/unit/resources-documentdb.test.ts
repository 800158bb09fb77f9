import { documentdb } from '../../functions/resources/documentdb.js';
import { clusterModuleSuite } from './db-cluster-suite.js';

clusterModuleSuite({
  module: documentdb,
  type: 'DocumentDB',
  engine: 'docdb',
  engineVersion: '5.0.0',
  port: 27017,
  foreignEngine: 'aurora-postgresql',
});
