import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  resourceModule,
  supportedResourceTypes,
  typesOfRecoveryPoint,
} from '../../functions/resources/index.js';

/** The real-shaped backup events in events/: one per type, each naming that type's recovery point form. */
const samples = readdirSync('events')
  .filter((file) => file.startsWith('backup-job-completed-'))
  .map((file) => {
    const event = JSON.parse(readFileSync(join('events', file), 'utf8')) as {
      resources: string[];
      detail: { resourceType: string; resourceArn: string };
    };
    return { file, type: event.detail.resourceType, recoveryPoint: event.resources[0] ?? '' };
  });

describe('recovery point forms', () => {
  it('has a backup event sample for every supported type', () => {
    expect([...new Set(samples.map((s) => s.type))].sort()).toEqual([...supportedResourceTypes].sort());
  });

  it.each(samples)(
    "$file: its recovery point is its type's, or AWS Backup's own form that names no type",
    ({ type, recoveryPoint }) => {
      const types = typesOfRecoveryPoint(recoveryPoint);
      if (recoveryPoint.includes(':recovery-point:')) expect(types).toEqual([]);
      else expect(types).toContain(type);
      expect(resourceModule(type).ownsRecoveryPoint(recoveryPoint)).toBe(
        !recoveryPoint.includes(':recovery-point:'),
      );
    },
  );
});
