import * as backup from '@aws-sdk/client-backup';
import * as dynamodb from '@aws-sdk/client-dynamodb';
import * as ec2 from '@aws-sdk/client-ec2';
import * as rds from '@aws-sdk/client-rds';
import * as s3 from '@aws-sdk/client-s3';
import * as sfn from '@aws-sdk/client-sfn';
import * as sns from '@aws-sdk/client-sns';
import * as sts from '@aws-sdk/client-sts';
import { ServiceException } from '@smithy/smithy-client';

/** The client packages, so a simulated error is the SDK's own exception class when the service models one. */
const modules: Record<string, Record<string, unknown>> = {
  Backup: backup,
  DynamoDB: dynamodb,
  EC2: ec2,
  RDS: rds,
  S3: s3,
  SFN: sfn,
  SNS: sns,
  STS: sts,
};

const SERVER_ERRORS = new Set([
  'ServiceUnavailableException',
  'InternalFailure',
  'InternalServerError',
  'ServiceUnavailable',
]);
const THROTTLES = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
]);

type ExceptionClass = new (options: { message: string; $metadata: object }) => Error;

function isExceptionClass(value: unknown): value is ExceptionClass {
  return typeof value === 'function' && value.prototype instanceof ServiceException;
}

/** An error as the SDK would raise it after reading the service's error response. */
export function awsError(service: string, name: string, message: string): Error {
  const httpStatusCode = SERVER_ERRORS.has(name)
    ? 503
    : THROTTLES.has(name)
      ? 400
      : name === 'AccessDenied' || name === 'AccessDeniedException'
        ? 403
        : 400;
  const $metadata = { httpStatusCode, requestId: `sandbox-${name}`, attempts: 1, totalRetryDelay: 0 };
  const modeled = modules[service]?.[name];
  if (isExceptionClass(modeled)) return new modeled({ message, $metadata });
  return new ServiceException({
    name,
    $fault: httpStatusCode >= 500 ? 'server' : 'client',
    $metadata,
    message,
  });
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
