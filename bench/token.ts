/**
 * Boards per second with the issuing CA key in a PKCS#11 token (SoftHSM2) against the same
 * work with the file-backed CA, in one run: per board, planDeviceCertificates (two P-256
 * key pairs, two TBS) and signDevicePlan (two signatures through the signer). Also the raw
 * token signature rate. Prints one JSON line. Target: >= 300 boards/s through the token.
 *   node --import tsx bench/token.ts [--boards N]
 */
import { cpus, loadavg } from 'node:os';
import {
  createDevelopmentCa,
  createFileSigner,
  luhnCheckDigit,
  planDeviceCertificates,
  signDevicePlan,
  type HardwareIds,
  type Issuer,
} from '../certs/index.ts';
import { createPkcs11Station } from '../main/hsm/pkcs11-station.ts';
import { openStation } from '../main/station/index.ts';
import { createSoftHsm, SOFTHSM_MODULE } from '../test/helpers/softhsm.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

function board(i: number): HardwareIds {
  const body = `35000000${String(i).padStart(6, '0')}`;
  return {
    imei: body + luhnCheckDigit(body),
    iccid: `8944500102198${String(i).padStart(6, '0')}F`,
    mcuUid: (0x3a0021000b51n * 0x1000000000000n + BigInt(i + 1)).toString(16).padStart(24, '0'),
  };
}

async function boardsPerSecond(issuer: Issuer, n: number): Promise<number> {
  const one = async (i: number) => {
    const issued = await signDevicePlan(
      planDeviceCertificates({ ids: board(i), issuerCertificateDer: issuer.certificateDer }),
      issuer,
    );
    issued.zeroize();
  };
  for (let i = 0; i < 20; i++) await one(i); // warm-up (JIT, noble tables, token session)
  const t = performance.now();
  for (let i = 0; i < n; i++) await one(i);
  return n / ((performance.now() - t) / 1000);
}

const boards = arg('boards', 500);
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
  const fileIssuer: Issuer = {
    certificateDer: ca.issuing.certificateDer,
    signer: createFileSigner(
      { ...ca.issuing.key, secret: ca.issuing.key.secret.slice() },
      'memory:bench',
    ),
  };
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
