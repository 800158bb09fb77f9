import { describe, expect, it } from 'vitest';
import { executionArnOf, isStandby, parseConfig, restoreLimit } from '../../functions/lib/config.js';

/** The environment serverless.yml gives every function (the vitest config sets the same values). */
function validEnv(): NodeJS.ProcessEnv {
  return {
    STATE_TABLE: 'pilotlight-prod-state',
    ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-2:222222222222:pilotlight-prod-alerts',
    EVIDENCE_BUCKET: 'pilotlight-prod-evidence',
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
    RESTORE_SECURITY_GROUP_IDS: 'sg-0a1b2c3d4e5f60718, sg-0123456789abcdef0',
    RESTORE_AVAILABILITY_ZONE: 'us-west-2a',
    RESTORE_SUBNET_IDS: 'subnet-0a1b2c3d4e5f60711,subnet-0a1b2c3d4e5f60722',
    RESTORE_REDSHIFT_SUBNET_GROUP: 'pilotlight-restore-redshift',
    RTO_TARGET_SECONDS: '14400',
    CODE_VERSION: '0.1.0',
    DATA_RPO_TARGET_SECONDS: '3600',
    AWS_REGION: 'us-east-2',
    PRIMARY_DECLARED_DOWN: 'false',
    RESTORE_CONCURRENCY: 'default=10,RDS=20',
    COPY_CONCURRENCY: '5',
    DRILL_COPY_RETENTION_DAYS: '7',
    SOURCE_ACCOUNTS: '111111111111',
    SOURCE_REGIONS: 'us-east-2',
    MAX_OPEN_DRILLS: '1000',
    DRILL_STATE_MACHINE_ARN: 'arn:aws:states:us-east-2:222222222222:stateMachine:pilotlight-prod-drill',
  };
}

function problemWith(env: NodeJS.ProcessEnv): string {
  try {
    parseConfig(env);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  throw new Error('parseConfig accepted an invalid environment');
}

describe('parseConfig', () => {
  it('parses numbers and splits the security group list', () => {
    // Prepare
    const env = validEnv();

    // Act
    const config = parseConfig(env);

    // Assess
    expect(config.EVIDENCE_RETENTION_DAYS).toBe(365);
    expect(config.RTO_TARGET_SECONDS).toBe(14400);
    expect(config.RESTORE_SECURITY_GROUP_IDS).toEqual(['sg-0a1b2c3d4e5f60718', 'sg-0123456789abcdef0']);
    expect(config.DR_ACCOUNT_ID).toBe('333333333333');
  });

  it('names a missing variable in one configuration error', () => {
    // Prepare
    const env = validEnv();
    delete env.STATE_TABLE;

    // Act
    const message = problemWith(env);

    // Assess
    expect(message).toMatch(/^Pilotlight configuration is invalid: STATE_TABLE: /);
  });

  it('explains a DR account id that is not 12 digits', () => {
    // Prepare
    const env = { ...validEnv(), DR_ACCOUNT_ID: '33333333333' };

    // Act
    const message = problemWith(env);

    // Assess
    expect(message).toBe(
      'Pilotlight configuration is invalid: DR_ACCOUNT_ID: must be a 12-digit AWS account id',
    );
  });

  it('explains a DR region that is not an AWS region', () => {
    // Prepare
    const env = { ...validEnv(), DR_REGION: 'oregon' };

    // Act
    const message = problemWith(env);

    // Assess
    expect(message).toBe(
      'Pilotlight configuration is invalid: DR_REGION: must be an AWS region such as us-west-2',
    );
  });

  it('explains a security group list with something that is not a security group id', () => {
    // Prepare
    const env = { ...validEnv(), RESTORE_SECURITY_GROUP_IDS: 'sg-0a1b2c3d4e5f60718,default' };

    // Act
    const message = problemWith(env);

    // Assess
    expect(message).toContain('RESTORE_SECURITY_GROUP_IDS.1: must be a security group id');
  });

  it('explains a drill state machine ARN that is not one', () => {
    // Prepare
    const env = {
      ...validEnv(),
      DRILL_STATE_MACHINE_ARN: 'arn:aws:lambda:us-east-2:222222222222:function:x',
    };

    // Act
    const message = problemWith(env);

    // Assess
    expect(message).toBe(
      'Pilotlight configuration is invalid: DRILL_STATE_MACHINE_ARN: must be a state machine ARN',
    );
  });

  it("names a drill execution after the drill id, on this deployment's state machine", () => {
    expect(executionArnOf('rds-20260105T0200-e9960a7ab3')).toBe(
      'arn:aws:states:us-east-2:222222222222:execution:pilotlight-test-drill:rds-20260105T0200-e9960a7ab3',
    );
  });

  it('rejects a retention period that is not a whole number of days', () => {
    // Prepare
    const env = { ...validEnv(), EVIDENCE_RETENTION_DAYS: 'one year' };

    // Act
    const message = problemWith(env);

    // Assess
    expect(message).toContain('EVIDENCE_RETENTION_DAYS: ');
  });

  it('reports every problem at once, in a single message', () => {
    // Prepare
    const env: NodeJS.ProcessEnv = { ...validEnv(), DR_ACCOUNT_ID: 'prod', RTO_TARGET_SECONDS: '-5' };
    delete env.ALERT_TOPIC_ARN;

    // Act
    const message = problemWith(env);

    // Assess
    expect(message.startsWith('Pilotlight configuration is invalid: ')).toBe(true);
    expect(message).toContain('ALERT_TOPIC_ARN: ');
    expect(message).toContain('DR_ACCOUNT_ID: must be a 12-digit AWS account id');
    expect(message).toContain('RTO_TARGET_SECONDS: ');
    expect(message.split('; ')).toHaveLength(3);
  });

  it('parses the restore concurrency pairs, the copy concurrency, the copy retention and the declared-down flag', () => {
    // Prepare
    const env = { ...validEnv(), RESTORE_CONCURRENCY: 'default=10, RDS=20', PRIMARY_DECLARED_DOWN: 'true' };

    // Act
    const config = parseConfig(env);

    // Assess
    expect(config.RESTORE_CONCURRENCY).toEqual({ default: 10, RDS: 20 });
    expect(config.COPY_CONCURRENCY).toBe(5);
    expect(config.DRILL_COPY_RETENTION_DAYS).toBe(7);
    expect(config.PRIMARY_DECLARED_DOWN).toBe(true);
    expect(config.AWS_REGION).toBe('us-east-2');
  });

  it('explains a restore concurrency without a default, or with a pair that is not TYPE=N with N >= 1', () => {
    // Prepare
    const noDefault = { ...validEnv(), RESTORE_CONCURRENCY: 'RDS=20' };
    const badPair = { ...validEnv(), RESTORE_CONCURRENCY: 'default=10,EBS=0' };

    // Act
    const first = problemWith(noDefault);
    const second = problemWith(badPair);

    // Assess
    expect(first).toBe('Pilotlight configuration is invalid: RESTORE_CONCURRENCY: needs a default=N entry');
    expect(second).toBe(
      'Pilotlight configuration is invalid: RESTORE_CONCURRENCY: "EBS=0" is not TYPE=N with N >= 1',
    );
  });

  it('accepts only true or false for PRIMARY_DECLARED_DOWN', () => {
    // Prepare
    const env = { ...validEnv(), PRIMARY_DECLARED_DOWN: 'yes' };

    // Act
    const message = problemWith(env);

    // Assess
    expect(message).toContain('PRIMARY_DECLARED_DOWN: ');
  });

  it('limits restores per resource type, falling back to the default (RDS=20, default=10 in tests)', () => {
    expect(restoreLimit('RDS')).toBe(20);
    expect(restoreLimit('EBS')).toBe(10);
  });

  it('is not the standby when it runs outside the DR region (us-east-2 against us-west-2 in tests)', () => {
    expect(isStandby).toBe(false);
  });
});
