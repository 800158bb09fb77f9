import { DescribeExecutionCommand, paginateListExecutions } from '@aws-sdk/client-sfn';
import { sfn } from './clients.js';
import { config, executionArnOf } from './config.js';
import { logger } from './observability.js';

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

/**
 * "Is this drill running?" for a reconciler run that asks it of many drills (slot holders, open-drill places):
 * one ListExecutions of the running drills, page by page, on the first question, instead of a DescribeExecution
 * each. ListExecutions is eventually consistent (a drill started seconds ago may be missing), so a drill it does
 * not list is confirmed with DescribeExecution before anyone frees what it holds: nothing is freed on a stale list.
 */
export function runningDrills(): (drillId: string) => Promise<boolean> {
  let listed: Promise<Set<string>> | undefined;
  const list = async () => {
    const names = new Set<string>();
    try {
      for await (const page of paginateListExecutions(
        { client: sfn() },
        { stateMachineArn: config.DRILL_STATE_MACHINE_ARN, statusFilter: 'RUNNING' },
      ))
        for (const execution of page.executions ?? []) if (execution.name) names.add(execution.name);
    } catch (error) {
      // Not listed: every drill is asked about one by one, as before the listing.
      logger.warn('could not list the running drills; describing each', { error });
      names.clear();
    }
    return names;
  };
  return async (drillId) => {
    listed ??= list();
    if ((await listed).has(drillId)) return true;
    return (await executionStatus(drillId)) === 'RUNNING';
  };
}
