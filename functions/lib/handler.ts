import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { logger, metrics } from './observability.js';

/**
 * Wraps a handler with the middleware every Pilotlight function uses: the Lambda context in every log line
 * and, for the functions that publish metrics, the EMF flush at the end of the invocation.
 */
export function lambdaHandler<Event, Result>(
  fn: (event: Event, context: Context) => Promise<Result>,
  options: { publishesMetrics?: boolean } = {},
) {
  const handler = middy(fn).use(injectLambdaContext(logger, { resetKeys: true }));
  return options.publishesMetrics ? handler.use(logMetrics(metrics)) : handler;
}
