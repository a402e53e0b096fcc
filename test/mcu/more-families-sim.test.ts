import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  encodeCredentialBlob,
  identifyMcu,
  writeCredentials,
  type CredentialTarget,
} from '../../main/mcu/index.ts';
import { sampleFields, startSimBoard } from './sim-board.ts';

// F1 (bootloader v2.2, legacy Erase 0x43, 1 KiB pages) and G0 (v3.1, Extended Erase, 2 KiB
// pages): the erase command must follow the Get list, and the UID its family's address.
const CASES = [
  { family: 'F1', uid: 'ff55067256497751871847ab', page: 127, pageSize: 1024, eraseStep: 'erase' },
  {
    family: 'G0',
    uid: '0085004c3136501120383048',
    page: 63,
    pageSize: 2048,
    eraseStep: 'extended-erase',
  },
] as const;

for (const c of CASES) {
  describe(`${c.family} simulator`, () => {
    it(`identifies the part and writes the last page with ${c.eraseStep}`, async () => {
      const board = await startSimBoard(c.family, c.uid);
      try {
        const { client } = await board.connect();
        await client.sync();
        const id = await identifyMcu(client);
        assert.equal(id.device.family, c.family);
        assert.equal(id.mcuUid, c.uid);
        const address = 0x0800_0000 + c.page * c.pageSize;
        const target: CredentialTarget = {
          family: id.device,
          flashKiB: id.flashKiB,
          area: { address, size: c.pageSize },
          firmwareRegion: { start: 0x0800_0000, end: address },
        };
        // Small enough for a 1 KiB page: no CA certificate, a short MCU certificate.
        const fields = { ...sampleFields(c.uid), serverCaCertificateDer: undefined };
        fields.mcuCertificateDer = fields.mcuCertificateDer.subarray(0, 480);
        const blob = encodeCredentialBlob(fields);
        const expected = blob.slice();
        const before = board.sim.stats().byStep;
        await writeCredentials(client, target, blob, { readoutProtect: false });
        const after = board.sim.stats().byStep;
        assert.equal((after[c.eraseStep] ?? 0) - (before[c.eraseStep] ?? 0), 1);
        assert.equal(after[c.eraseStep === 'erase' ? 'extended-erase' : 'erase'] ?? 0, 0);
        assert.deepEqual(board.sim.readFlash(address, expected.length), expected);
      } finally {
        await board.close();
      }
    });
  });
}
