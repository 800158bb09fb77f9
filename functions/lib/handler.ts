import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { logger, metrics } from './observability.js';

/** Wraps a handler with the middleware every Pilotlight function uses: Lambda context in logs, EMF flush. */
export function lambdaHandler<Event, Result>(fn: (event: Event, context: Context) => Promise<Result>) {
  return middy(fn)
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics));
}
