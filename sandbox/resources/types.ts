import type { Arn } from '../../functions/lib/arn.js';
import type { IamRequest, RequestEnvironment } from '../iam-requests.js';
import type { ApiCall } from '../interceptor.js';
import type { Random } from '../random.js';
import type { Caller, Job, RecoveryPoint, World } from '../world.js';

/**
 * One AWS Backup resource type as the sandbox simulates it (sandbox/resources/<type>.ts), mirroring
 * functions/resources/<type>.ts: what its recovery points and their restore metadata look like, how long a
 * restore takes, what the restore creates and how that resource behaves. The API of the service that holds
 * the restored resource is a ServiceApi (shared when types share a service: RDS, EC2).
 */
export interface SandboxResourceType {
  /** The AWS Backup resource type string. */
  readonly type: string;
  /** The size of a backup of this type, GiB. */
  sizeGiB(random: Random): number;
  /** A production resource of this type (the ARN a backup job names). */
  sourceResourceArn(input: { account: string; region: string; index: number; random: Random }): string;
  /** A recovery point of this type, in the form AWS Backup gives it (`copy`: made by a copy job). */
  recoveryPointArn(input: { account: string; region: string; random: Random; copy: boolean }): string;
  /** The recovery point ARN forms AWS Backup gives this type, to check events from outside against. */
  readonly recoveryPointForm: { describe: string; fits(arn: Arn): boolean };
  /** What GetRecoveryPointRestoreMetadata returns for a backup of this resource. */
  sourceMetadata(input: {
    resourceArn: string;
    account: string;
    region: string;
    sizeGiB: number;
    random: Random;
  }): Record<string, string>;
  /** How long a restore job of this type runs, in milliseconds. */
  restoreDurationMs(random: Random, sizeGiB: number): number;
  /**
   * Checks StartRestoreJob's metadata as the service would before accepting the job; throws the service's
   * error (SimulatedAwsError) for metadata it cannot restore.
   */
  validateRestore(world: World, caller: Caller, metadata: Record<string, string>): void;
  /** The service quota a restore would exceed as it creates the resource, if any (the job then FAILS). */
  quotaExceeded(
    world: World,
    job: Job,
    point: RecoveryPoint,
    metadata: Record<string, string>,
  ): string | undefined;
  /** Creates what the restore job restores, with its lifecycle; returns the job's CreatedResourceArn. */
  restore(world: World, job: Job, point: RecoveryPoint, metadata: Record<string, string>): string;
  /** Restored resources of this type present in the account (what its restore concurrency is about). */
  present(world: World, account: string): number;
  /**
   * The restore metadata AWS Backup restore testing infers for a backup of this type (AWS Backup, "Restore
   * testing inferred metadata": a random name starting `awsbackup-restore-test-`), with the overrides a restore
   * testing selection of the DR account sets (its isolated network, its key). `name` is the restored resource's
   * name when an event names it. Types without it have no simulated restore testing.
   */
  restoreTestMetadata?(input: {
    metadata: Record<string, string>;
    name: string;
    account: string;
    region: string;
    network: RestoreTestNetwork;
  }): Record<string, string>;
  /**
   * The restored resource's name in a restore testing job event's `createdResourceArn` (what restoreTestMetadata
   * is given as `name`), or undefined when the ARN is not of this type's form.
   */
  restoreTestName?(createdResourceArn: string): string | undefined;
  /**
   * Restore testing tags what it restores `awsbackup-restore-test` where the type supports tag on restore (RDS,
   * Aurora, EBS, EC2…); DynamoDB and S3 do not, and restore testing finds those by name (AWS Backup, "Restore
   * testing": data deletion).
   */
  readonly tagsRestoreTests?: boolean;
}

/** The network a restore testing selection of the DR account restores databases into (its overrides). */
export interface RestoreTestNetwork {
  subnetGroup: string;
  securityGroupIds: string[];
  availabilityZone: string;
}

export type Operation = (caller: ApiCall['caller'], input: Record<string, never>) => unknown;
export type IamMapper = (input: Record<string, unknown>, env: RequestEnvironment) => IamRequest[];

/**
 * The simulated API of one AWS service: operations keyed `Service.Operation` (the SDK client's name without
 * `Client`, and the command's name without `Command`), each with what IAM is asked for it.
 */
export interface ServiceApi {
  readonly service: string;
  operations(world: World): Record<string, Operation>;
  readonly iam: Record<string, IamMapper>;
  /**
   * Calls of this service that go on to a real local implementation instead of `operations` (true, or the
   * endpoint to send them to), false for calls `operations` answers; undefined leaves the choice to the
   * sandbox (its own state table's DynamoDB calls go to its dynalite).
   */
  passThrough?(world: World, call: ApiCall): { hostname: string; port: number } | boolean | undefined;
}

export const text = (value: unknown): string => (typeof value === 'string' ? value : '');

export function tagList(tags: Record<string, string>) {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

/** Applies `[{Key, Value}]` tags (RDS, EC2, Redshift, FSx, EFS, S3 spell them this way). */
export function applyTags(target: Record<string, string>, tags: unknown): void {
  if (!Array.isArray(tags)) return;
  for (const tag of tags) {
    if (tag && typeof tag === 'object' && 'Key' in tag && typeof tag.Key === 'string')
      target[tag.Key] = 'Value' in tag && typeof tag.Value === 'string' ? tag.Value : '';
  }
}
