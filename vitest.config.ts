import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Unit tests import handlers directly, so the configuration every function reads at load time is set here
 * (the same values serverless.yml's params.default gives the sandbox). Workflow tests build a sandbox,
 * which sets its own environment from serverless.yml.
 */
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The browser test needs Chromium: it runs on its own (npm run test:browser), so npm test needs no browser.
    exclude: [...configDefaults.exclude, 'test/browser/**', 'test/mariadb/**'],
    setupFiles: ['test/setup.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 180_000,
    env: {
      AWS_REGION: 'us-east-2',
      AWS_ACCESS_KEY_ID: 'unit-test-not-a-key',
      AWS_SECRET_ACCESS_KEY: 'unit-test-not-a-secret',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      POWERTOOLS_SERVICE_NAME: 'pilotlight',
      POWERTOOLS_METRICS_NAMESPACE: 'Pilotlight',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      STATE_TABLE: 'pilotlight-test-state',
      ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-2:222222222222:pilotlight-test-alerts',
      EVIDENCE_BUCKET: 'pilotlight-test-evidence',
      EVIDENCE_RETENTION_DAYS: '365',
      DR_ACCOUNT_ID: '333333333333',
      DR_REGION: 'us-west-2',
      DR_VAULT_NAME: 'pilotlight-dr',
      DR_ROLE_NAME: 'pilotlight-dr-orchestrator',
      DR_TEARDOWN_ROLE_NAME: 'pilotlight-dr-teardown',
      SOURCE_ROLE_NAME: 'pilotlight-source-orchestrator',
      EXTERNAL_ID: 'pilotlight-dr-drills',
      COPY_ROLE_NAME: 'pilotlight-backup-copy',
      RESTORE_ROLE_NAME: 'pilotlight-backup-restore',
      RESTORE_DB_SUBNET_GROUP: 'pilotlight-restore',
      RESTORE_SECURITY_GROUP_IDS: 'sg-0a1b2c3d4e5f60718',
      RESTORE_AVAILABILITY_ZONE: 'us-west-2a',
      RESTORE_SUBNET_IDS: 'subnet-0a1b2c3d4e5f60711,subnet-0a1b2c3d4e5f60722',
      RESTORE_REDSHIFT_SUBNET_GROUP: 'pilotlight-restore-redshift',
      RTO_TARGET_SECONDS: '14400',
      CODE_VERSION: '0.0.0-test',
      DATA_RPO_TARGET_SECONDS: '3600',
      PRIMARY_DECLARED_DOWN: 'false',
      RESTORE_CONCURRENCY: 'default=10,RDS=20',
      COPY_CONCURRENCY: '5',
      DRILL_COPY_RETENTION_DAYS: '7',
      SOURCE_ACCOUNTS: '111111111111',
      SOURCE_REGIONS: '',
      MAX_OPEN_DRILLS: '1000',
      DRILL_STATE_MACHINE_ARN: 'arn:aws:states:us-east-2:222222222222:stateMachine:pilotlight-test-drill',
    },
  },
});
