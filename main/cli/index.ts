import { UsageError } from './args.ts';
import type { CliIO, CommandFn } from './io.ts';
import { promptHidden } from './prompt.ts';

/**
 * Command table. Each command lives in its own module, loaded lazily so `keyline --help`
 * stays fast and a command's heavy dependencies load only when it runs.
 */
function loadCommand(name: string): Promise<{ run: CommandFn }> {
  return import(`./commands/${name}.ts`) as Promise<{ run: CommandFn }>;
}

const commands: Record<string, { summary: string; load: () => Promise<{ run: CommandFn }> }> = {
  ca: {
    summary: 'ca init | ca import — set up the station CA and ledger key',
    load: () => loadCommand('ca'),
  },
  cert: {
    summary: 'cert issue — issue a device certificate pair without hardware',
    load: () => loadCommand('cert'),
  },
  sim: {
    summary: 'sim — run the virtual fixture (modem + STM32 simulators on PTYs)',
    load: () => loadCommand('sim'),
  },
  probe: {
    summary: 'probe --modem PORT --mcu PORT — identify a board',
    load: () => loadCommand('probe'),
  },
  audit: {
    summary: 'audit --modem PORT — read-only audit of the module attack surface',
    load: () => loadCommand('audit'),
  },
  provision: {
    summary: 'provision — provision boards, one per slot',
    load: () => loadCommand('provision'),
  },
  demo: {
    summary: 'demo — station + virtual fixture + a batch of boards, end to end',
    load: () => loadCommand('demo'),
  },
  ledger: { summary: 'ledger export | verify', load: () => loadCommand('ledger') },
  caps: {
    summary:
      'caps raise — raise an issuance cap (recorded in the ledger, needs the PIN/passphrase)',
    load: () => loadCommand('caps'),
  },
  serve: {
    summary: 'serve --ledger EXPORT --port P — reference mutual-TLS server',
    load: () => loadCommand('serve'),
  },
  ui: {
    summary: 'ui --port P — operator UI over a token-protected loopback bridge',
    load: () => loadCommand('ui'),
  },
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `usage: keyline <command> [options] [--json]\n\n${lines.join('\n')}\n`;
}

function defaultIO(signal: AbortSignal): CliIO {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    promptSecret: process.stdin.isTTY ? (q) => promptHidden(q) : undefined,
    signal,
  };
}

/** Entry point; returns the process exit code. Errors become one line on stderr. */
export async function main(argv: string[], io?: CliIO): Promise<number> {
  const ac = new AbortController();
  const onSignal = () => ac.abort(new Error('interrupted'));
  if (!io) {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  const cliIO = io ?? defaultIO(ac.signal);
  const [name, ...rest] = argv;
  const json = rest.includes('--json');
  try {
    if (!name || name === '--help' || name === 'help') {
      cliIO.stdout.write(usage());
      return name ? 0 : 2;
    }
    const entry = commands[name];
    if (!entry) throw new UsageError(`unknown command "${name}"`);
    let mod: { run: CommandFn };
    try {
      mod = await entry.load();
    } catch (e) {
      if (
        (e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' &&
        String((e as Error).message).includes(`commands/${name}.ts`)
      ) {
        throw new Error(`keyline ${name}: not yet available in this build`);
      }
      throw e;
    }
    return await mod.run(rest, cliIO);
  } catch (e) {
    const err = e as Error & { code?: string };
    const message = (err.message || String(e)).split('\n')[0];
    if (json)
      cliIO.stdout.write(
        JSON.stringify({ ok: false, error: { code: err.code ?? err.name, message } }) + '\n',
      );
    cliIO.stderr.write(`keyline: ${message}\n`);
    if (e instanceof UsageError) return 2;
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
