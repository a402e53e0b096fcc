/**
 * Boards per second with the issuing CA key in a PKCS#11 token (SoftHSM2) against the same
 * work with the file-backed CA, in one run: per board, planDeviceCertificates (two P-256
 * key pairs, two TBS) and signDevicePlan (two signatures through the signer). Also the raw
 * token signature rate. Prints one JSON line. Target: >= 300 boards/s through the token.
 *   node --import tsx bench/token.ts [--boards N]
 */
import { cpus, loadavg } from 'node:os';
import { createDevelopmentCa, type Issuer } from '../certs/index.ts';
import { createPkcs11Station } from '../main/hsm/pkcs11-station.ts';
import { openStation } from '../main/station/index.ts';
import { createSoftHsm, SOFTHSM_MODULE } from '../test/helpers/softhsm.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { issueBoard, memoryIssuer, numberArg } from './common.ts';

async function boardsPerSecond(issuer: Issuer, n: number): Promise<number> {
  for (let i = 0; i < 20; i++) await issueBoard(issuer, i); // warm-up (JIT, noble tables, token session)
  const t = performance.now();
  for (let i = 0; i < n; i++) await issueBoard(issuer, i);
  return n / ((performance.now() - t) / 1000);
}

const boards = numberArg('boards', 500);
const PIN = '123456';
const hsm = createSoftHsm();
const work = mkdtempSync(join(tmpdir(), 'keyline-bench-token-'));
try {
  hsm.initToken('bench', PIN);
  const dir = join(work, 'station');
  await createPkcs11Station(dir, { module: SOFTHSM_MODULE, token: 'bench' }, PIN, {
    rootPassphrase: 'bench root passphrase',
    kdfIterations: 1000,
  });
  const station = await openStation(dir, PIN);
  const ca = await createDevelopmentCa({ org: 'Bench' });
  const fileIssuer = memoryIssuer(ca);
  try {
    // Alternate the two so machine load drifts hit both alike.
    const token: number[] = [];
    const file: number[] = [];
    for (let round = 0; round < 2; round++) {
      token.push(await boardsPerSecond(station.issuer, boards / 2));
      file.push(await boardsPerSecond(fileIssuer, boards / 2));
    }
    const data = new Uint8Array(200);
    let t = performance.now();
    const signs = 2000;
    for (let i = 0; i < signs; i++) await station.issuer.signer.sign(data);
    const tokenSignsPerS = signs / ((performance.now() - t) / 1000);
    t = performance.now();
    for (let i = 0; i < signs; i++) await fileIssuer.signer.sign(data);
    const fileSignsPerS = signs / ((performance.now() - t) / 1000);
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    const tokenBps = mean(token);
    console.log(
      JSON.stringify({
        bench: 'token',
        boards,
        tokenBoardsPerS: Math.round(tokenBps),
        fileBoardsPerS: Math.round(mean(file)),
        tokenVsFile: Number((tokenBps / mean(file)).toFixed(2)),
        tokenSignaturesPerS: Math.round(tokenSignsPerS),
        fileSignaturesPerS: Math.round(fileSignsPerS),
        targetBoardsPerS: 300,
        meetsTarget: tokenBps >= 300,
        token: 'SoftHSM2',
        cpus: cpus().length,
        loadavg1: Number(loadavg()[0].toFixed(2)),
      }),
    );
  } finally {
    station.close();
    fileIssuer.signer.dispose();
  }
} finally {
  rmSync(work, { recursive: true, force: true });
  hsm.cleanup();
}
