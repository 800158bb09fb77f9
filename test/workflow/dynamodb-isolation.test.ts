import { describe, expect, it } from 'vitest';
import { dynaliteCall } from '../../sandbox/dynamodb.js';
import { Sandbox } from '../../sandbox/index.js';
import { DynamoDbState } from '../../sandbox/resources/dynamodb.js';

/**
 * Issue 9, item 3: a table a drill restores in the DR account never shares a DynamoDB namespace with
 * Pilotlight's own state table. The sandbox gives each simulated account its own dynalite; this looks into
 * both the moment the restore has written the table.
 */
describe('a restored DynamoDB table in the sandbox', () => {
  it("lives in the DR account's own dynalite with the backup's items, never beside the state table", async () => {
    // Prepare: see both servers right after the restore has loaded the table.
    const sandbox = await Sandbox.create({ seed: 7 });
    const seen: { dr: string[]; central: string[]; items: number }[] = [];
    try {
      const world = sandbox.world;
      const defer = world.defer.bind(world);
      world.defer = (work) =>
        defer(
          work.then(async () => {
            const drEndpoint = await world.state(DynamoDbState).endpoint(world, world.settings.drAccount);
            const central = process.env.AWS_ENDPOINT_URL_DYNAMODB ?? '';
            const [table] = [...world.state(DynamoDbState).tables.values()];
            const dr = (await dynaliteCall(drEndpoint, 'ListTables', {})) as { TableNames: string[] };
            const state = (await dynaliteCall(central, 'ListTables', {})) as { TableNames: string[] };
            const count = (await dynaliteCall(drEndpoint, 'Scan', {
              TableName: table?.id,
              Select: 'COUNT',
            })) as {
              Count: number;
            };
            seen.push({ dr: dr.TableNames, central: state.TableNames, items: count.Count });
          }),
        );
      sandbox.backupCompleted('DynamoDB');

      // Act
      await sandbox.run();

      // Assess
      const [table] = [...world.state(DynamoDbState).tables.values()];
      expect(table).toBeDefined();
      expect(seen).toEqual([
        {
          dr: [table?.id],
          central: [expect.stringMatching(/state/)],
          items: expect.any(Number),
        },
      ]);
      expect(seen[0]?.central).not.toContain(table?.id);
      expect(seen[0]?.items).toBeGreaterThan(0);
      expect(table?.account).toBe(world.settings.drAccount);
      expect(table?.phase).toBe('deleted');
    } finally {
      sandbox.dispose();
    }
  });
});
