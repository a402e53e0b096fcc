/** Minimal, strict flag parser: unknown flags are errors, repeated flags accumulate. */
export interface ParsedArgs {
  positionals: string[];
  flags: Map<string, string[]>;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

export function parseArgs(argv: string[], booleanFlags: readonly string[] = []): ParsedArgs {
  const positionals: string[] = [];
  const flags = new Map<string, string[]>();
  const bool = new Set(['json', 'help', ...booleanFlags]);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      positionals.push(a);
      continue;
    }
    let name = a.slice(2);
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    } else if (bool.has(name)) {
      value = 'true';
    } else {
      value = argv[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
    }
    const list = flags.get(name) ?? [];
    list.push(value);
    flags.set(name, list);
  }
  return { positionals, flags };
}

/** Accessors that turn a ParsedArgs into typed options with one-line errors. */
export class Flags {
  private readonly used = new Set<string>();
  constructor(private readonly parsed: ParsedArgs) {}

  get positionals(): string[] {
    return this.parsed.positionals;
  }

  has(name: string): boolean {
    this.used.add(name);
    return this.parsed.flags.has(name);
  }

  bool(name: string): boolean {
    this.used.add(name);
    const v = this.parsed.flags.get(name)?.at(-1);
    return v === 'true' || v === '1' || v === 'yes';
  }

  string(name: string): string | undefined {
    this.used.add(name);
    return this.parsed.flags.get(name)?.at(-1);
  }

  required(name: string): string {
    const v = this.string(name);
    if (v === undefined || v === '') throw new UsageError(`missing --${name}`);
    return v;
  }

  all(name: string): string[] {
    this.used.add(name);
    return this.parsed.flags.get(name) ?? [];
  }

  int(
    name: string,
    fallback: number,
    min = Number.MIN_SAFE_INTEGER,
    max = Number.MAX_SAFE_INTEGER,
  ): number {
    const v = this.string(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new UsageError(`--${name} must be an integer in ${min}..${max}, got "${v}"`);
    return n;
  }

  /** Call after reading every flag a command knows: leftover flags are typos, not options. */
  rejectUnknown(): void {
    for (const k of this.parsed.flags.keys()) {
      if (k !== 'json' && k !== 'help' && !this.used.has(k))
        throw new UsageError(`unknown option --${k}`);
    }
  }
}
