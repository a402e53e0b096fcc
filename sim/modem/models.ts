import type { ModemModel } from './types.ts';

/** What differs between the simulated families; everything else is shared. */
export interface ModelTraits {
  readonly family: 'lte' | 'lpwa' | '2g';
  /** Lines of the ATI answer before `Revision: <fw>`. */
  readonly atiLines: readonly string[];
  readonly defaultFirmware: string;
  /** LTE/LPWA print `+QCCID: <iccid>`, 2G the ICCID alone. */
  readonly qccidPrefixed: boolean;
  /** 2G only: AT+QSECWRITE/QSECREAD/QSECDEL and the NVRAM: storage. */
  readonly secureStorage: boolean;
  /** The keyword that turns certificate time checks off, and whether it takes a context. */
  readonly ignoreTimeKeyword: 'ignorelocaltime' | 'ignorertctime';
  /** AT+QADBKEY?, AT+QCFG="usbcfg", AT+QLINUXCMD exist (answers depend on personality). */
  readonly debugCommands: boolean;
  /** USB VID/PID for the usbcfg answer. */
  readonly usbIds: readonly [vid: string, pid: string];
}

const traits: Record<ModemModel, ModelTraits> = {
  EC25: {
    family: 'lte',
    atiLines: ['Quectel', 'EC25'],
    defaultFirmware: 'EC25EFAR06A06M4G',
    qccidPrefixed: true,
    secureStorage: false,
    ignoreTimeKeyword: 'ignorelocaltime',
    debugCommands: true,
    usbIds: ['0x2C7C', '0x0125'],
  },
  BG96: {
    family: 'lpwa',
    atiLines: ['Quectel', 'BG96'],
    defaultFirmware: 'BG96MAR02A07M1G',
    qccidPrefixed: true,
    secureStorage: false,
    ignoreTimeKeyword: 'ignorelocaltime',
    debugCommands: true,
    usbIds: ['0x2C7C', '0x0296'],
  },
  M66: {
    family: '2g',
    atiLines: ['Quectel_Ltd', 'Quectel_M66'],
    defaultFirmware: 'M66FAR02A03',
    qccidPrefixed: false,
    secureStorage: true,
    ignoreTimeKeyword: 'ignorertctime',
    debugCommands: false,
    usbIds: ['', ''],
  },
};

export function modelTraits(model: ModemModel): ModelTraits {
  return traits[model];
}

export function isModemModel(x: string): x is ModemModel {
  return Object.hasOwn(traits, x);
}
