import { readdirSync, readFileSync } from 'node:fs';
import { EventBridgeSchema as PowertoolsEventBridge } from '@aws-lambda-powertools/parser/schemas/eventbridge';
import { describe, expect, it } from 'vitest';
import { EventBridgeSchema } from '../../functions/lib/events.js';

/** functions/lib/events.ts writes out Powertools' EventBridge envelope (bundle size); they must agree. */
describe('EventBridge envelope', () => {
  const samples = readdirSync(new URL('../../events/', import.meta.url))
    .filter((name) => name.endsWith('.json'))
    .map((name) => JSON.parse(readFileSync(new URL(`../../events/${name}`, import.meta.url), 'utf8')));

  it('has the same fields as Powertools EventBridgeSchema', () => {
    expect(Object.keys(EventBridgeSchema.shape).sort()).toEqual(
      Object.keys(PowertoolsEventBridge.shape).sort(),
    );
  });

  it('accepts and refuses the same events', () => {
    expect(samples.length).toBeGreaterThan(0);
    const variants = samples.flatMap((sample) => [
      sample,
      { ...sample, time: 'yesterday' },
      { ...sample, resources: 'one' },
      { ...sample, 'replay-name': 'replay' },
      Object.fromEntries(Object.entries(sample).filter(([key]) => key !== 'id')),
    ]);
    for (const event of variants)
      expect(EventBridgeSchema.safeParse(event).success).toBe(PowertoolsEventBridge.safeParse(event).success);
    expect(variants.some((event) => !EventBridgeSchema.safeParse(event).success)).toBe(true);
  });
});
