import { RedshiftClient } from '@aws-sdk/client-redshift';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod';
import { PROBE_FUNCTION_NAME } from '../../functions/resources/sql-probe.js';
import { SimulatedAwsError } from '../aws-errors.js';
import { DrillDatabases } from '../engines/drill-databases.js';
import { passwordGate } from '../engines/password-gate.js';
import { accountOf } from '../iam-keys.js';
import { registerPrincipal, sessionArnOf } from '../identity.js';
import { RedshiftState, redshiftEndpointAddress } from '../resources/redshift.js';
import { type ServiceApi, text } from '../resources/types.js';
import type { World } from '../world.js';
import { clusterEndpointAddress, endpointAddress, RdsState } from './rds.js';

/**
 * AWS Lambda in the sandbox, for what Pilotlight invokes itself: the data probe that accounts/dr-account.yaml
 * deploys in the DR account (docs/validation.md). An Invoke runs functions/probe.ts's handler logic in
 * process, as that function would: with its own role (ProbeRole in accounts/dr-account.yaml, whose policies
 * IAM evaluates on its Secrets Manager and Redshift calls), and `tls: false`, because the sandbox's databases
 * are PostgreSQL on loopback without TLS. The probe's network is the DR VPC's: an RDS or Redshift endpoint it
 * is given resolves to that copy's real database (started now, on first use, sandbox/engines/drill-databases.ts),
 * served on 127.0.0.1 at an ephemeral port; what DescribeDBInstances answers stays deterministic. A Redshift
 * copy's database sits behind a password gate (sandbox/engines/password-gate.ts) that admits only unexpired
 * credentials GetClusterCredentials issued for that cluster. A probe that throws answers as Lambda does:
 * `FunctionError` and the error's type and message as the payload.
 */

/** data=stale: the copy lacks its newest two hours of rows, so its data is older than the recovery point claims. */
const STALE_MISSING_SECONDS = 2 * 3600;

/** The probe role's name as accounts/dr-account.yaml declares it (ProbeRole). */
export const PROBE_ROLE_NAME = 'pilotlight-probe';

/**
 * A user's own validator deployed in the sandbox's DR account (docs/validation.md, "Bring your own validator"):
 * it answers whether the restored copy it is given exists in the DR account, is present, and — for a database —
 * comes with an endpoint and its own managed secret. `validator=fail|crash|timeout` make it answer a failing
 * check, throw, or run past its Lambda timeout (Lambda then answers `Task timed out`).
 */
export const SAMPLE_VALIDATOR_NAME = 'pilotlight-validator-sample';
const SAMPLE_VALIDATOR_TIMEOUT_SECONDS = 30;
const SampleValidatorRequest = z.object({
  drillId: z.string(),
  resourceType: z.string(),
  resourceArn: z.string(),
  recoveryPointArn: z.string(),
  recoveryPointCreatedAt: z.string(),
  connection: z
    .object({
      address: z.string().optional(),
      port: z.number().optional(),
      database: z.string().optional(),
      secretArn: z.string().optional(),
    })
    .optional(),
});

/** What the sample validator was asked, in order (for tests and the report: what a user's function receives). */
export class ValidatorRequests {
  readonly requests: z.infer<typeof SampleValidatorRequest>[] = [];
}

function sampleValidator(world: World, event: unknown): { payload: unknown; functionError?: string } {
  const parsed = SampleValidatorRequest.safeParse(event);
  if (!parsed.success)
    return {
      functionError: 'Unhandled',
      payload: { errorType: 'ZodError', errorMessage: parsed.error.message },
    };
  const request = parsed.data;
  world.state(ValidatorRequests).requests.push(request);
  const fault = world.faults.validator;
  if (fault === 'crash')
    return {
      functionError: 'Unhandled',
      payload: {
        errorType: 'TypeError',
        errorMessage: "Cannot read properties of undefined (reading 'rows')",
      },
    };
  if (fault === 'timeout')
    return {
      functionError: 'Unhandled',
      payload: {
        errorMessage: `${new Date(world.clock.now).toISOString()} Task timed out after ${SAMPLE_VALIDATOR_TIMEOUT_SECONDS}.03 seconds`,
      },
    };
  const resource = world.resources.get(request.resourceArn);
  const present = resource?.phase === 'present' && resource.account === world.settings.drAccount;
  const checks: { name: string; passed: boolean; observed: string; expected: string }[] = [
    {
      name: 'restored copy is present in the DR account',
      passed: present && fault !== 'fail',
      observed:
        fault === 'fail'
          ? 'orders reconcile: 17 orders without a customer'
          : (resource?.phase ?? 'not found'),
      expected: 'present',
    },
  ];
  if (request.connection) {
    const reachable = request.connection.address !== undefined && request.connection.secretArn !== undefined;
    checks.push({
      name: 'connection details given',
      passed: reachable,
      observed: reachable ? 'endpoint and managed secret' : 'incomplete',
      expected: 'endpoint and managed secret',
    });
  }
  return { payload: { checks } };
}

const encoder = new TextEncoder();

export const lambdaApi: ServiceApi = {
  service: 'Lambda',
  operations(world: World) {
    const { drAccount, drRegion } = world.settings;
    const probeArn = `arn:aws:lambda:${drRegion}:${drAccount}:function:${PROBE_FUNCTION_NAME}`;
    let clients: { secrets: SecretsManagerClient; redshift: RedshiftClient } | undefined;
    /** The probe's SDK clients, signed with its execution role's session (created on first use). */
    const probeClients = () => {
      if (clients) return clients;
      const accessKeyId = 'ASIASBXPROBEROLE0001';
      const roleArn = `arn:aws:iam::${drAccount}:role/${PROBE_ROLE_NAME}`;
      registerPrincipal(accessKeyId, {
        account: drAccount,
        roleArn,
        sessionArn: sessionArnOf(roleArn, PROBE_FUNCTION_NAME),
        expiresAt: Number.POSITIVE_INFINITY,
        sourceFunctionArn: probeArn,
      });
      const credentials = {
        accessKeyId,
        secretAccessKey: 'sandbox-not-a-secret',
        sessionToken: 'sandbox-probe',
      };
      clients = {
        secrets: new SecretsManagerClient({ region: drRegion, credentials }),
        redshift: new RedshiftClient({ region: drRegion, credentials }),
      };
      return clients;
    };
    /**
     * Runs the probe on its network: the RDS endpoint it is given resolves to that instance's database on
     * loopback, served for the invocation.
     */
    const inTheDrVpc = async <T>(event: unknown, run: (event: unknown) => Promise<T>): Promise<T> => {
      if (!event || typeof event !== 'object' || !('host' in event)) return run(event);
      const databases = world.state(DrillDatabases);
      // An instance's or a cluster's endpoint, of a PostgreSQL copy with its own managed password.
      const rdsState = world.state(RdsState);
      const instance = [
        ...[...rdsState.instances.values()].map((i) => ({ resource: i, host: endpointAddress(i) })),
        ...[...rdsState.clusters.values()].map((c) => ({ resource: c, host: clusterEndpointAddress(c) })),
      ]
        .map(({ resource, host }) => (host === event.host ? resource : undefined))
        .find(
          (r) =>
            r !== undefined &&
            r.account === drAccount &&
            r.phase === 'present' &&
            r.restoredFrom !== undefined &&
            r.masterUserSecret !== undefined &&
            r.engine.includes('postgres'),
        );
      // Or a Redshift cluster's endpoint: its logins are Redshift's temporary credentials.
      const redshiftState = world.state(RedshiftState);
      const cluster = [...redshiftState.clusters.values()].find(
        (c) =>
          redshiftEndpointAddress(c) === event.host &&
          c.account === drAccount &&
          c.phase === 'present' &&
          c.status === 'available' &&
          c.restoredFrom !== undefined,
      );
      const copy = instance ?? cluster;
      // Anything else (and data=unreachable) is not reachable from the probe: its connection is dropped on
      // loopback, so it fails as it would (DatabaseUnreachable) without ever resolving a name outside.
      if (!copy?.restoredFrom || world.faults.unreachableData)
        return run({ ...event, ...(await databases.unreachable()), tls: false });
      const from = copy.restoredFrom;
      // The source's backups: what it held at the recovery point depends on them (drill-databases.ts).
      const backupTimes = [...world.recoveryPoints.values()]
        .filter((p) => p.resourceArn === from.sourceArn)
        .map((p) => p.createdAt);
      const fault = world.faults.corruptData
        ? { kind: 'corrupt' as const, everyNth: 2 }
        : world.faults.staleData
          ? { kind: 'stale' as const, missingSeconds: STALE_MISSING_SECONDS }
          : undefined;
      return databases.session(copy.arn, from, backupTimes, fault, async (served) => {
        if (!cluster) return run({ ...event, host: served.host, port: served.port, tls: false });
        const gate = await passwordGate(served, (login) =>
          redshiftState.accepts(cluster.arn, login, world.now),
        );
        try {
          return await run({ ...event, host: gate.host, port: gate.port, tls: false });
        } finally {
          await gate.close();
        }
      });
    };
    return {
      'Lambda.Invoke': async (caller, input: { FunctionName?: string; Payload?: Uint8Array }) => {
        const name = input.FunctionName ?? '';
        const validatorArn = `arn:aws:lambda:${drRegion}:${drAccount}:function:${SAMPLE_VALIDATOR_NAME}`;
        const isValidator =
          name === validatorArn ||
          (name === SAMPLE_VALIDATOR_NAME && caller.account === drAccount && caller.region === drRegion);
        if (isValidator) {
          const request: unknown = JSON.parse(new TextDecoder().decode(input.Payload ?? new Uint8Array()));
          const answer = sampleValidator(world, request);
          return {
            StatusCode: 200,
            ExecutedVersion: '$LATEST',
            ...(answer.functionError ? { FunctionError: answer.functionError } : {}),
            Payload: encoder.encode(JSON.stringify(answer.payload)),
          };
        }
        const isProbe =
          name === probeArn ||
          (name === PROBE_FUNCTION_NAME && caller.account === drAccount && caller.region === drRegion);
        if (!isProbe || caller.region !== drRegion)
          throw new SimulatedAwsError('ResourceNotFoundException', `Function not found: ${name}`);
        const event: unknown = JSON.parse(new TextDecoder().decode(input.Payload ?? new Uint8Array()));
        try {
          // Loaded when first invoked, as Lambda loads a function: its logger reads the function's environment,
          // which the sandbox sets when it starts (an import at load time would fix the test runner's).
          const { runProbe } = await import('../../functions/probe.js');
          const report = await inTheDrVpc(event, (input) => runProbe(input, probeClients()));
          return {
            StatusCode: 200,
            ExecutedVersion: '$LATEST',
            Payload: encoder.encode(JSON.stringify(report)),
          };
        } catch (error) {
          const errorType = error instanceof Error ? error.name : 'Error';
          const errorMessage = error instanceof Error ? error.message : String(error);
          return {
            StatusCode: 200,
            ExecutedVersion: '$LATEST',
            FunctionError: 'Unhandled',
            Payload: encoder.encode(JSON.stringify({ errorType, errorMessage, trace: [] })),
          };
        }
      },
    };
  },
  iam: {
    'Lambda.Invoke': (input, env) => {
      const name = text(input.FunctionName);
      const arn = name.startsWith('arn:')
        ? name
        : `arn:aws:lambda:${env.region}:${env.account}:function:${name}`;
      return [
        {
          action: 'lambda:InvokeFunction',
          resource: arn,
          resourceAccount: accountOf(arn) || env.account,
          context: {},
        },
      ];
    },
  },
};
