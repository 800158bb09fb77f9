import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { restoredItems } from '../../sandbox/resources/dynamodb.js';
import { storedChecksum, writtenBody } from '../../sandbox/resources/s3.js';
import {
  SEEDED_DATA_GAP_SECONDS,
  SEEDED_SPACING_SECONDS,
  STALE_DATA_RPO_SECONDS,
  seededObjectKey,
  seededWrittenAt,
} from '../../sandbox/resources/seeded-data.js';

const CREATED_AT = Date.parse('2026-01-05T01:50:00.000Z');
const newestUpdate = (items: ReturnType<typeof restoredItems>) =>
  Math.max(...items.map((item) => Date.parse((item.updatedAt as { S: string }).S)));

describe('the seeded data a sandbox restore puts back', () => {
  it('holds every item the source held, one a minute, the newest a few minutes before the recovery point', () => {
    const items = restoredItems(40, CREATED_AT, { corrupt: false, stale: false });

    expect(items).toHaveLength(40);
    expect(items[0]?.orderId).toEqual({ S: 'order-000000' });
    expect(items[39]?.orderId).toEqual({ S: 'order-000039' });
    expect(newestUpdate(items)).toBe(CREATED_AT - SEEDED_DATA_GAP_SECONDS * 1000);
    expect(seededWrittenAt(38, 40, CREATED_AT)).toBe(
      CREATED_AT - (SEEDED_DATA_GAP_SECONDS + SEEDED_SPACING_SECONDS) * 1000,
    );
  });

  it('loses every second item, the first among them, under data=corrupt', () => {
    const items = restoredItems(40, CREATED_AT, { corrupt: true, stale: false });

    expect(items).toHaveLength(20);
    expect(items.map((item) => (item.orderId as { S: string }).S)).not.toContain('order-000000');
    expect(items.map((item) => (item.orderId as { S: string }).S)).toContain('order-000001');
  });

  it('is two hours older than the recovery point claims under data=stale, with every item there', () => {
    const items = restoredItems(40, CREATED_AT, { corrupt: false, stale: true });

    expect(items).toHaveLength(40);
    expect(newestUpdate(items)).toBe(CREATED_AT - STALE_DATA_RPO_SECONDS * 1000);
  });

  it('stores with each object the SHA-256 of the bytes the source wrote, its size long', () => {
    const version = {
      key: seededObjectKey(7),
      versionId: 'v1',
      size: 512,
      isLatest: true,
      lastModified: seededWrittenAt(7, 10, CREATED_AT),
    };

    const body = writtenBody(version);

    expect(body).toHaveLength(512);
    expect(body.toString('utf8')).toContain('"key":"orders/2026/01/00007.json"');
    expect(storedChecksum(version)).toBe(createHash('sha256').update(body).digest('base64'));
  });
});
