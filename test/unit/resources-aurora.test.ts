import {
  type DBCluster,
  InvalidDBClusterStateFault,
  ModifyDBClusterCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { drClients } from '../../functions/lib/clients.js';
import { ResourceNotReady } from '../../functions/lib/errors.js';
import { aurora } from '../../functions/resources/aurora.js';
import { ensureClusterPassword } from '../../functions/resources/db-cluster.js';
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

describe('ensureClusterPassword (a fresh master password before the probe connects)', () => {
  const rds = mockClient(RDSClient);
  beforeEach(() => rds.reset());
  const cluster = (secret?: DBCluster['MasterUserSecret']): DBCluster => ({
    DBClusterIdentifier: 'pl-aurora-20260105t0157-5b0c1f2e9a',
    Status: 'available',
    Engine: 'aurora-postgresql',
    MasterUserSecret: secret,
  });

  it('asks RDS to manage a new password, applied now, and waits for it', async () => {
    rds.on(ModifyDBClusterCommand).resolves({});
    const ensuring = ensureClusterPassword(drClients(), cluster());
    await expect(ensuring).rejects.toBeInstanceOf(ResourceNotReady);
    expect(rds).toHaveReceivedCommandWith(ModifyDBClusterCommand, {
      DBClusterIdentifier: 'pl-aurora-20260105t0157-5b0c1f2e9a',
      ManageMasterUserPassword: true,
      ApplyImmediately: true,
    });
  });

  it('waits, without asking again, while the secret is being created', async () => {
    const ensuring = ensureClusterPassword(
      drClients(),
      cluster({
        SecretArn: 'arn:aws:secretsmanager:us-west-2:333333333333:secret:rds!cluster-x',
        SecretStatus: 'creating',
      }),
    );
    await expect(ensuring).rejects.toThrow(/its master user secret is creating/);
    expect(rds).not.toHaveReceivedCommand(ModifyDBClusterCommand);
  });

  it('waits when another attempt already started the change', async () => {
    rds
      .on(ModifyDBClusterCommand)
      .rejects(new InvalidDBClusterStateFault({ message: 'DB cluster is not available', $metadata: {} }));
    await expect(ensureClusterPassword(drClients(), cluster())).rejects.toBeInstanceOf(ResourceNotReady);
  });

  it('is done once the secret is active', async () => {
    await ensureClusterPassword(
      drClients(),
      cluster({
        SecretArn: 'arn:aws:secretsmanager:us-west-2:333333333333:secret:rds!cluster-x',
        SecretStatus: 'active',
      }),
    );
    expect(rds).not.toHaveReceivedCommand(ModifyDBClusterCommand);
  });
});
