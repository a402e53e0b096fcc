/** Serial port discovery: the OS's ports (node-serialport) plus the virtual fixture's PTYs. */
import type { SerialPortInfo, SlotAssignment } from '../../contract/types.ts';

export async function listSerialPorts(
  virtualSlots: readonly SlotAssignment[],
  timeoutMs = 5000,
): Promise<SerialPortInfo[]> {
  const { SerialPort } = await import('serialport');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`serial port listing took longer than ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  let system: Awaited<ReturnType<typeof SerialPort.list>>;
  try {
    system = await Promise.race([SerialPort.list(), timeout]);
  } finally {
    clearTimeout(timer);
  }
  const out: SerialPortInfo[] = system.map((p) => ({
    path: p.path,
    manufacturer: p.manufacturer ?? null,
    serialNumber: p.serialNumber ?? null,
    vendorId: p.vendorId ?? null,
    productId: p.productId ?? null,
    virtual: false,
  }));
  for (const s of virtualSlots) {
    for (const path of [s.modemPort, s.mcuPort]) {
      out.push({
        path,
        manufacturer: 'keyline virtual fixture',
        serialNumber: null,
        vendorId: null,
        productId: null,
        virtual: true,
      });
    }
  }
  return out;
}
