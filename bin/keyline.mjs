#!/usr/bin/env node
// Runs the TypeScript CLI directly through tsx so `npx keyline` works on a fresh clone
// with no build step.
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../main/cli/index.ts');
process.exitCode = await main(process.argv.slice(2));
