import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

/** One logger and one metrics instance per function container (service and namespace from the environment). */
export const logger = new Logger();
export const metrics = new Metrics();
