// The simulated part for bench/bootloader.ts, in a process of its own, as a real board is:
// the client being timed (keyline in the bench process, or stm32flash) then shares no
// event loop or thread pool with the device it talks to. Driven over the fork IPC channel.
//
//   fork('bench/bootloader-device.ts', [devicePath, family, uid, baud, stateFile])
//   → {type:'ready'}; ← {type:'stop', address, length} → {type:'stopped', stats, flash}
import { BootloaderSimulator, isMcuFamily } from '../sim/stm32/index.ts';

interface StopRequest {
  type: 'stop';
  address: number;
  length: number;
}

const [devicePath, family, uid, baud, stateFile] = process.argv.slice(2);
if (!process.send || !isMcuFamily(family)) {
  console.error('bootloader-device: run by bench/bootloader.ts through fork()');
  process.exit(2);
}
const send = process.send.bind(process);
const sim = await BootloaderSimulator.start({
  devicePath,
  family,
  uid,
  baud: Number(baud),
  stateFile,
  latencyScale: 1,
});
process.on('message', (m: StopRequest) => {
  if (m.type !== 'stop') return;
  const flash = Buffer.from(sim.readFlash(m.address, m.length)).toString('base64');
  const stats = sim.stats();
  void sim.stop().then(() => {
    send({ type: 'stopped', stats, flash }, () => process.exit(0));
  });
});
// The bench going away takes the device with it.
process.on('disconnect', () => void sim.stop().then(() => process.exit(0)));
send({ type: 'ready' });
