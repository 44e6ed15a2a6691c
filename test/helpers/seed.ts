/**
 * A random source for a test's random choices (a cut point, an order) that can be replayed: the seed
 * comes from `LRO_TEST_SEED` when set, else is drawn; it is printed with the test's name, so a failure
 * found once can be run again with `LRO_TEST_SEED=<seed> npx vitest run <file>`.
 */
export function seededRandom(label: string): { seed: number; random: () => number; int: (min: number, max: number) => number } {
  const env = process.env.LRO_TEST_SEED;
  const seed = env !== undefined && env !== '' ? Number(env) >>> 0 : (Date.now() ^ (process.pid << 16)) >>> 0;
  console.log(`${label}: seed ${seed} (replay with LRO_TEST_SEED=${seed})`);
  let a = seed;
  // mulberry32: small, fast, and the same sequence for the same seed on every machine.
  const random = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  /** An integer in [min, max]. */
  const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  return { seed, random, int };
}
