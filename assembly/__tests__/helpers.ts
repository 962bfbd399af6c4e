/** String containment with a useful failure: shows the whole actual string when `sub` is missing. */
export function expectContains(actual: string, sub: string): void {
  expect(actual.includes(sub) ? sub : actual).toBe(sub);
}
