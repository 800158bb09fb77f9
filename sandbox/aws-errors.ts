import { createRequire } from 'node:module';
import { ServiceException } from '@smithy/smithy-client';

/**
 * Simulated AWS errors, as each service returns them: the HTTP status the service documents for the error
 * code, hence the SDK's own retry classification (5xx and the documented throttling codes are retried, 4xx
 * are not). The services, their operations and their modeled exception classes are read from the
 * `@aws-sdk/client-*` packages this project depends on (package.json), not from a hand list, so a fault can
 * only name what the SDK can actually send or raise.
 */

/** How a service answers an error code (from the service's API reference, "Errors" / "Common Errors"). */
export interface ErrorSpec {
  status: number;
  /** What the SDK retries: a throttling error (longer backoff) or a transient one; otherwise not retried. */
  retry?: 'throttling' | 'transient';
  /** The SDK's exception class when the service models the error under another name (SNS `NotFound`). */
  modeled?: string;
}

const e = (status: number, retry?: ErrorSpec['retry'], modeled?: string): ErrorSpec => ({
  status,
  ...(retry ? { retry } : {}),
  ...(modeled ? { modeled } : {}),
});

/**
 * Common errors every AWS API can return ("Common Errors" in each API reference, e.g.
 * https://docs.aws.amazon.com/aws-backup/latest/devguide/API_Operations.html → Common Errors).
 */
const COMMON: Record<string, ErrorSpec> = {
  AccessDeniedException: e(403),
  IncompleteSignature: e(400),
  InternalFailure: e(500, 'transient'),
  InvalidAction: e(400),
  InvalidClientTokenId: e(403),
  NotAuthorized: e(400),
  OptInRequired: e(403),
  RequestExpired: e(400),
  ServiceUnavailable: e(503, 'transient'),
  ThrottlingException: e(400, 'throttling'),
  ValidationError: e(400),
  UnrecognizedClientException: e(403),
  ExpiredTokenException: e(400),
};

/** Per service: the error codes its API reference documents for the operations Pilotlight calls. */
const SERVICES: Record<string, Record<string, ErrorSpec>> = {
  // https://docs.aws.amazon.com/aws-backup/latest/devguide/API_StartCopyJob.html (and the other operations)
  Backup: {
    AlreadyExistsException: e(400),
    ConflictException: e(400),
    DependencyFailureException: e(500, 'transient'),
    InvalidParameterValueException: e(400),
    InvalidRequestException: e(400),
    InvalidResourceStateException: e(400),
    LimitExceededException: e(400, 'throttling'),
    MissingParameterValueException: e(400),
    ResourceNotFoundException: e(400),
    ServiceUnavailableException: e(500, 'transient'),
  },
  // https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/CommonErrors.html and per-operation errors
  DynamoDB: {
    ConditionalCheckFailedException: e(400),
    InternalServerError: e(500, 'transient'),
    ItemCollectionSizeLimitExceededException: e(400),
    LimitExceededException: e(400, 'throttling'),
    ProvisionedThroughputExceededException: e(400, 'throttling'),
    RequestLimitExceeded: e(400, 'throttling'),
    ResourceInUseException: e(400),
    ResourceNotFoundException: e(400),
    TransactionCanceledException: e(400),
    TransactionConflictException: e(400),
    ValidationException: e(400),
  },
  // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html (client and server error codes)
  EC2: {
    // EC2 names an IAM denial UnauthorizedOperation; the sandbox's tag-guarded delete (world.authorizeDelete)
    // still raises AccessDenied, as RDS would, so it is accepted here too (403 either way).
    AccessDenied: e(403),
    AuthFailure: e(401),
    Blocked: e(403),
    DryRunOperation: e(412),
    IncorrectInstanceState: e(400),
    IncorrectState: e(400),
    InternalError: e(500, 'transient'),
    'InvalidInstanceID.Malformed': e(400),
    'InvalidInstanceID.NotFound': e(400),
    InvalidParameter: e(400),
    InvalidParameterCombination: e(400),
    InvalidParameterValue: e(400),
    'InvalidVolume.NotFound': e(400),
    'InvalidVolume.ZoneMismatch': e(400),
    MissingParameter: e(400),
    OperationNotPermitted: e(400),
    RequestLimitExceeded: e(503, 'throttling'),
    ServiceUnavailable: e(503, 'transient'),
    UnauthorizedOperation: e(403),
    Unavailable: e(503, 'transient'),
    VolumeInUse: e(400),
  },
  // https://docs.aws.amazon.com/efs/latest/ug/API_DeleteFileSystem.html (and DescribeFileSystems,
  // DescribeMountTargets, DeleteMountTarget, TagResource, ListTagsForResource: each operation's Errors)
  EFS: {
    AccessPointNotFound: e(404),
    BadRequest: e(400),
    FileSystemAlreadyExists: e(409),
    FileSystemInUse: e(409),
    FileSystemLimitExceeded: e(403),
    FileSystemNotFound: e(404),
    IncorrectFileSystemLifeCycleState: e(409),
    IncorrectMountTargetState: e(409),
    InternalServerError: e(500, 'transient'),
    MountTargetNotFound: e(404),
    ThrottlingException: e(429, 'throttling'),
  },
  // https://docs.aws.amazon.com/fsx/latest/APIReference/API_DeleteFileSystem.html (and the other operations):
  // FSx is a JSON 1.1 API, every client error is HTTP 400.
  FSx: {
    BackupNotFound: e(400),
    BadRequest: e(400),
    FileSystemNotFound: e(400),
    IncompatibleParameterError: e(400),
    InternalServerError: e(500, 'transient'),
    NotServiceResourceError: e(400),
    ResourceDoesNotSupportTagging: e(400),
    ResourceNotFound: e(400),
    ServiceLimitExceeded: e(400),
    StorageVirtualMachineNotFound: e(400),
    VolumeNotFound: e(400),
  },
  // https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DeleteDBInstance.html (and CommonErrors,
  // API_DescribeDBClusters, API_CreateDBInstance, API_DeleteDBCluster)
  RDS: {
    AccessDenied: e(403),
    DBClusterNotFoundFault: e(404),
    DBInstanceAlreadyExists: e(400, undefined, 'DBInstanceAlreadyExistsFault'),
    DBInstanceNotFound: e(404, undefined, 'DBInstanceNotFoundFault'),
    DBSnapshotAlreadyExists: e(400, undefined, 'DBSnapshotAlreadyExistsFault'),
    InstanceQuotaExceeded: e(400, undefined, 'InstanceQuotaExceededFault'),
    InvalidDBClusterStateFault: e(400),
    InvalidDBInstanceState: e(400, undefined, 'InvalidDBInstanceStateFault'),
    InvalidParameterCombination: e(400),
    InvalidParameterValue: e(400),
    KMSKeyNotAccessibleFault: e(400),
    SnapshotQuotaExceeded: e(400, undefined, 'SnapshotQuotaExceededFault'),
    Throttling: e(400, 'throttling'),
  },
  // https://docs.aws.amazon.com/redshift/latest/APIReference/API_DescribeClusters.html (DeleteCluster,
  // CreateTags, DescribeTags) and CommonErrors: the wire codes, with the SDK's Fault classes.
  Redshift: {
    AccessDenied: e(403),
    ClusterNotFound: e(404, undefined, 'ClusterNotFoundFault'),
    ClusterSnapshotAlreadyExists: e(400, undefined, 'ClusterSnapshotAlreadyExistsFault'),
    ClusterSnapshotQuotaExceeded: e(400, undefined, 'ClusterSnapshotQuotaExceededFault'),
    InvalidClusterState: e(400, undefined, 'InvalidClusterStateFault'),
    InvalidParameterCombination: e(400),
    InvalidParameterValue: e(400),
    InvalidRetentionPeriodFault: e(400),
    InvalidTagFault: e(400),
    ResourceNotFoundFault: e(404),
    TagLimitExceededFault: e(400),
    Throttling: e(400, 'throttling'),
    UnsupportedOperation: e(400, undefined, 'UnsupportedOperationFault'),
  },
  // https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#ErrorCodeList
  S3: {
    AccessDenied: e(403),
    BadDigest: e(400),
    BucketAlreadyExists: e(409),
    BucketAlreadyOwnedByYou: e(409),
    BucketNotEmpty: e(409),
    MalformedXML: e(400),
    NoSuchPublicAccessBlockConfiguration: e(404),
    NoSuchTagSet: e(404),
    OperationAborted: e(409),
    ServerSideEncryptionConfigurationNotFoundError: e(404),
    InternalError: e(500, 'transient'),
    InvalidArgument: e(400),
    InvalidObjectState: e(403),
    InvalidRequest: e(400),
    NoSuchBucket: e(404),
    NoSuchKey: e(404),
    RequestTimeout: e(400, 'transient'),
    ServiceUnavailable: e(503, 'transient'),
    SlowDown: e(503, 'throttling'),
  },
  // https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html (and the others)
  SFN: {
    ExecutionAlreadyExists: e(400),
    ExecutionDoesNotExist: e(400),
    ExecutionLimitExceeded: e(400),
    InvalidArn: e(400),
    InvalidExecutionInput: e(400),
    InvalidName: e(400),
    InvalidOutput: e(400),
    InvalidToken: e(400),
    KmsThrottlingException: e(400, 'throttling'),
    StateMachineDeleting: e(400),
    StateMachineDoesNotExist: e(400),
    TaskDoesNotExist: e(400),
    TaskTimedOut: e(400),
    ValidationException: e(400),
  },
  // https://docs.aws.amazon.com/sns/latest/api/API_Publish.html
  SNS: {
    AuthorizationError: e(403, undefined, 'AuthorizationErrorException'),
    EndpointDisabled: e(400, undefined, 'EndpointDisabledException'),
    InternalError: e(500, 'transient', 'InternalErrorException'),
    InvalidParameter: e(400, undefined, 'InvalidParameterException'),
    KMSThrottling: e(400, 'throttling', 'KMSThrottlingException'),
    NotFound: e(404, undefined, 'NotFoundException'),
    Throttled: e(429, 'throttling', 'ThrottledException'),
  },
  // https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
  STS: {
    AccessDenied: e(403),
    ExpiredTokenException: e(400),
    MalformedPolicyDocument: e(400, undefined, 'MalformedPolicyDocumentException'),
    PackedPolicyTooLarge: e(400, undefined, 'PackedPolicyTooLargeException'),
    RegionDisabledException: e(403),
    Throttling: e(400, 'throttling'),
  },
  // https://docs.aws.amazon.com/resourcegroupstagging/latest/APIReference/API_GetResources.html
  ResourceGroupsTaggingAPI: {
    ConstraintViolationException: e(400),
    InternalServiceException: e(500, 'transient'),
    InvalidParameterException: e(400),
    PaginationTokenExpiredException: e(400),
    ThrottledException: e(400, 'throttling'),
  },
};

type ExceptionClass = new (options: { message: string; $metadata: object }) => Error & { $fault?: string };

function isExceptionClass(value: unknown): value is ExceptionClass {
  return typeof value === 'function' && value.prototype instanceof ServiceException;
}

export interface SdkService {
  /** The service as the SDK names its client (`BackupClient` → `Backup`), as calls are reported. */
  name: string;
  /** Operations: the package's `*Command` classes without the suffix. */
  operations: Set<string>;
  /** The package's modeled exception classes, by name. */
  exceptions: Map<string, ExceptionClass>;
}

const require = createRequire(import.meta.url);
const manifest = require('../package.json') as { dependencies?: Record<string, string> };
const packages = Object.keys(manifest.dependencies ?? {}).filter((name) =>
  name.startsWith('@aws-sdk/client-'),
);

/** Every AWS service client this project depends on, read from the package itself. */
export const sdkServices: Map<string, SdkService> = new Map(
  (await Promise.all(packages.map(async (name) => (await import(name)) as Record<string, unknown>))).map(
    (module) => {
      const client = Object.keys(module).find((key) => key.endsWith('Client') && key !== '__Client');
      if (!client) throw new Error('an @aws-sdk/client-* package without a client class');
      const name = client.replace(/Client$/, '');
      const operations = new Set(
        Object.keys(module)
          .filter((key) => key.endsWith('Command') && key !== '$Command' && typeof module[key] === 'function')
          .map((key) => key.replace(/Command$/, '')),
      );
      const exceptions = new Map<string, ExceptionClass>();
      for (const [key, value] of Object.entries(module)) {
        if (isExceptionClass(value) && key !== `${name}ServiceException`) exceptions.set(key, value);
      }
      return [name, { name, operations, exceptions }];
    },
  ),
);

/** The error names a service can answer with: its documented codes, its modeled exceptions, the common errors. */
export function errorNames(service: string): string[] {
  const names = new Set([
    ...Object.keys(COMMON),
    ...Object.keys(SERVICES[service] ?? {}),
    ...(sdkServices.get(service)?.exceptions.keys() ?? []),
  ]);
  return [...names].sort();
}

/** How the service answers `name`, or undefined if the service never returns it. */
export function errorSpec(service: string, name: string): ErrorSpec | undefined {
  const table = SERVICES[service] ?? {};
  const documented =
    table[name] ?? Object.values(table).find((spec) => spec.modeled === name) ?? COMMON[name];
  if (documented) return documented;
  const modeled = sdkServices.get(service)?.exceptions.get(name);
  if (!modeled) return undefined;
  // A modeled exception the table does not list: the model's fault says client (4xx) or server (5xx).
  const fault = new modeled({ message: '', $metadata: {} }).$fault;
  return fault === 'server' ? e(500, 'transient') : e(400);
}

/** An error as the SDK would raise it after reading the service's error response. */
export function awsError(service: string, name: string, message: string): Error {
  const spec = errorSpec(service, name);
  if (!spec) throw new Error(`the sandbox raised ${service} error ${name}, which ${service} does not return`);
  const $metadata = {
    httpStatusCode: spec.status,
    requestId: `sandbox-${name}`,
    attempts: 1,
    totalRetryDelay: 0,
  };
  const exceptions = sdkServices.get(service)?.exceptions;
  const modeled = exceptions?.get(spec.modeled ?? name);
  if (modeled) return new modeled({ message, $metadata });
  const error = new ServiceException({
    name,
    $fault: spec.status >= 500 ? 'server' : 'client',
    $metadata,
    message,
  });
  if (spec.retry === 'throttling') error.$retryable = { throttling: true };
  return error;
}

/** The error a whole service answers with when its region is unavailable. */
export function unavailableError(service: string): string {
  const table = SERVICES[service] ?? {};
  if (table.ServiceUnavailableException) return 'ServiceUnavailableException';
  if (table.Unavailable) return 'Unavailable';
  return 'ServiceUnavailable';
}

/** Thrown by the simulated services for an error the caller's input caused; mapped to awsError by the interceptor. */
export class SimulatedAwsError extends Error {
  constructor(
    readonly errorName: string,
    message: string,
  ) {
    super(message);
    this.name = errorName;
  }
}
