import type { CommandHandler } from '../context.ts';
import { basicCommands } from './basic.ts';
import { debugCommands } from './debug.ts';
import { fileCommands } from './files.ts';
import { secureStorageCommands } from './secure-storage.ts';
import { sslCommands } from './ssl.ts';
import { sslSessionCommands } from './ssl-session.ts';

/** Every command the simulator knows, by upper-case name; anything else answers ERROR. */
export const commandTable: ReadonlyMap<string, CommandHandler> = new Map([
  ...basicCommands,
  ...fileCommands,
  ...sslCommands,
  ...sslSessionCommands,
  ...secureStorageCommands,
  ...debugCommands,
]);
