import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

/** Seeded randomness for the simulation: the same seed gives the same run, timestamps included. */
export class Random {
  private readonly generator;

  constructor(seed: number) {
    this.generator = xoroshiro128plus(seed);
  }

  int(min: number, max: number): number {
    return uniformInt(this.generator, min, max);
  }

  float(): number {
    return uniformFloat64(this.generator);
  }

  /** A duration in milliseconds between `minSeconds` and `maxSeconds`. */
  seconds(minSeconds: number, maxSeconds: number): number {
    return this.int(minSeconds * 1000, maxSeconds * 1000);
  }

  hex(length: number): string {
    let out = '';
    while (out.length < length) out += this.int(0, 0xffff).toString(16).padStart(4, '0');
    return out.slice(0, length);
  }

  uuid(): string {
    const h = this.hex(32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }
}
