import { neptune } from '../../functions/resources/neptune.js';
import { clusterModuleSuite } from './db-cluster-suite.js';

clusterModuleSuite({
  module: neptune,
  type: 'Neptune',
  engine: 'neptune',
  engineVersion: '1.3.2.1',
  port: 8182,
  foreignEngine: 'docdb',
});
