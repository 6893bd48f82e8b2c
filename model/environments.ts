/** The environments a tenant can have, in promotion order. */
export const ENVIRONMENTS = ["dev", "test", "prod"] as const;

export type Environment = (typeof ENVIRONMENTS)[number];

/** Sorts environments into promotion order (dev, test, prod). */
export function inPromotionOrder(envs: readonly Environment[]): Environment[] {
  return ENVIRONMENTS.filter((e) => envs.includes(e));
}
