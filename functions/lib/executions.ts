import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { sfn } from './clients.js';
import { executionArnOf } from './config.js';

/** A drill's execution status, or 'NOT_FOUND' (purged after 90 days, or never started by this machine). */
export async function executionStatus(drillId: string): Promise<string> {
  try {
    const execution = await sfn().send(
      new DescribeExecutionCommand({ executionArn: executionArnOf(drillId) }),
    );
    return execution.status ?? 'UNKNOWN';
  } catch (error) {
    if (error instanceof Error && error.name === 'ExecutionDoesNotExist') return 'NOT_FOUND';
    throw error;
  }
}
