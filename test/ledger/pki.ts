import {
  createDevelopmentCa,
  createFileSigner,
  planDeviceCertificates,
  signDevicePlan,
  type Issuer,
  type IssuedDevice,
} from '../../certs/index.ts';
import type { NewLedgerRecord } from '../../ledger/records.ts';
import { boardIds } from './helpers.ts';

/** A development CA made in memory (no station directory needed). */
export interface TestPki {
  issuer: Issuer;
  /** Issuing CA first, root last. */
  chainDer: Uint8Array[];
  rootDer: Uint8Array;
}

export async function testPki(org = 'Test Factory'): Promise<TestPki> {
  const ca = await createDevelopmentCa({ org });
  const issuer = {
    certificateDer: ca.issuing.certificateDer,
    signer: createFileSigner(ca.issuing.key, 'memory:issuing-ca'),
  };
  return {
    issuer,
    chainDer: [ca.issuing.certificateDer, ca.root.certificateDer],
    rootDer: ca.root.certificateDer,
  };
}

/** Plans and signs board n's certificates, returning the intent and a commit builder. */
export async function issueBoard(
  pki: TestPki,
  n: number,
  batch = 'B1',
): Promise<{
  intent: NewLedgerRecord;
  issued: IssuedDevice;
  commit: (intentIndex: number) => NewLedgerRecord;
}> {
  const ids = boardIds(n);
  const plan = planDeviceCertificates({ ids, issuerCertificateDer: pki.issuer.certificateDer });
  const base = {
    deviceId: plan.deviceId,
    hardwareIds: ids,
    batch,
    slot: `s${n}`,
    profile: 'demo',
    operator: 'op',
  };
  const intent: NewLedgerRecord = {
    type: 'intent',
    ...base,
    certificates: {
      modem: { serialHex: plan.modem.serialHex, tbsSha256Hex: plan.modem.tbsSha256Hex },
      mcu: { serialHex: plan.mcu.serialHex, tbsSha256Hex: plan.mcu.tbsSha256Hex },
    },
  };
  const issued = await signDevicePlan(plan, pki.issuer);
  const cert = (role: 'modem' | 'mcu') => ({
    serialHex: issued[role].serialHex,
    derB64: Buffer.from(issued[role].certificateDer).toString('base64'),
    sha256Hex: issued[role].fingerprintSha256Hex,
  });
  return {
    intent,
    issued,
    commit: (intentIndex) => ({
      type: 'commit',
      intentIndex,
      ...base,
      modem: { model: 'EC25', firmware: 'EC25EFAR06A06M4G' },
      certificates: { modem: cert('modem'), mcu: cert('mcu') },
      modemKeyReadable: false,
      findings: [{ id: 'adb-salt', severity: 'high', summary: 'QADBKEY answers a salt' }],
    }),
  };
}
