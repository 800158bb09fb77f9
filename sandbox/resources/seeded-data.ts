/**
 * The data behind the sandbox's DynamoDB and S3 sources (docs/validation.md, "Seeded data"): an application
 * that writes steadily, one item or object a minute, the newest SEEDED_DATA_GAP_SECONDS before each backup.
 * What a restore puts back is a pure function of the recovery point (its creation time and the item or
 * object count its metadata claims), damaged as a data fault says; so the data RPO a clean drill measures is
 * exactly SEEDED_DATA_GAP_SECONDS, the same as the RDS sources' (sandbox/engines/drill-databases.ts).
 *
 * A leaf module (no sandbox imports): both resource types and the tests read it.
 */

/** The newest write is this old when AWS Backup takes the backup: a clean drill's data RPO. */
export const SEEDED_DATA_GAP_SECONDS = 240;
/** One write a minute. */
export const SEEDED_SPACING_SECONDS = 60;
/** data=stale: the copy holds the source as it was long before the recovery point; its newest write is this old. */
export const STALE_DATA_RPO_SECONDS = 2 * 3600;

/** The key of the DynamoDB source tables (`orders-N`) and the prefix of the S3 sources' objects. */
export const SEEDED_KEY_ATTRIBUTE = 'orderId';
export const SEEDED_TIME_ATTRIBUTE = 'updatedAt';
export const SEEDED_OBJECT_PREFIX = 'orders/';

/** The `index`th item's key (0 is the oldest): `order-000042`. */
export function seededKey(index: number): string {
  return `order-${String(index).padStart(6, '0')}`;
}

/** The `index`th S3 object's key: `orders/2026/01/00042.json`. */
export function seededObjectKey(index: number): string {
  return `${SEEDED_OBJECT_PREFIX}2026/01/${String(index).padStart(5, '0')}.json`;
}

/**
 * When the `index`th of `count` writes happened (ms), for a recovery point created at `createdAt` (ms): the
 * newest (index count − 1) SEEDED_DATA_GAP_SECONDS before it, the others a minute apart before that. A stale
 * copy's newest write is STALE_DATA_RPO_SECONDS old instead.
 */
export function seededWrittenAt(index: number, count: number, createdAt: number, stale = false): number {
  const newestAgeSeconds = stale ? STALE_DATA_RPO_SECONDS : SEEDED_DATA_GAP_SECONDS;
  return createdAt - (newestAgeSeconds + (count - 1 - index) * SEEDED_SPACING_SECONDS) * 1000;
}

/**
 * data=corrupt hits every second item or object, the oldest first (the even indexes): a DynamoDB copy lacks
 * those items, an S3 copy's objects have bodies that no longer match the checksums stored with them. A sample
 * spread over the listing always meets the first, so the checks catch it deterministically.
 */
export function hitByCorruption(index: number): boolean {
  return index % 2 === 0;
}
