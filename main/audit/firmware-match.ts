/**
 * Firmware allow/deny patterns: the whole version string, case-insensitive, where `*`
 * matches any run of characters and `?` one character (`EC25EFAR06A0?M4G*`).
 */
export function firmwareMatches(pattern: string, version: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 'i').test(version);
}

/** The first pattern that matches any of the module's version strings. */
export function firstMatch(
  patterns: readonly string[],
  versions: readonly string[],
): string | undefined {
  return patterns.find((p) => versions.some((v) => v !== '' && firmwareMatches(p, v)));
}
