/**
 * What the audit can find. Each probe has one finding id; the ids are stable strings that
 * end up in ledger commit records and in the server's per-device view, so never rename one.
 */

/** The probes, in the order the audit runs them. */
export const FINDING_IDS = [
  'firmware',
  'backdoor-command',
  'adb-unlock',
  'adb-enabled',
  'key-readable',
  'tls-context',
] as const;

export type FindingId = (typeof FINDING_IDS)[number];

/** How bad a finding is on its own; the product profile decides what it does to the slot. */
export type Severity = 'critical' | 'high' | 'medium' | 'low';

/** One thing the audit found. `detail` never holds module data beyond short settings. */
export interface Finding {
  readonly id: FindingId;
  readonly severity: Severity;
  readonly detail: string;
}

/**
 * `clean`: the module gave the safe answer. `finding`: it gave an unsafe one.
 * `inconclusive`: no clear answer (timeout, unparsable reply, file missing); the probe then
 * also reports its finding, because an audit that cannot show a module is safe must not
 * pass it silently.
 */
export type ProbeOutcome = 'clean' | 'finding' | 'inconclusive';

/** What one probe did: every command line it sent, and how it ended. */
export interface ProbeRecord {
  readonly id: FindingId;
  readonly commandsSent: readonly string[];
  readonly outcome: ProbeOutcome;
}

/** A documented probe: what it sends, what counts as a finding, how severe that is. */
export interface ProbeDescription {
  readonly id: FindingId;
  /** The command shapes it may send (`<name>`, `<fh>`, `<ctx>` are filled in at run time). */
  readonly sends: readonly string[];
  readonly findingWhen: string;
  readonly severity: Severity;
}

/** The fixed list of read-only probes (docs/audit.md explains each one). */
export const AUDIT_PROBES: readonly ProbeDescription[] = [
  {
    id: 'firmware',
    sends: ['ATI', 'AT+QGMR'],
    findingWhen:
      'the model is not of the expected family, or the firmware matches the deny-list (high), ' +
      'or an allow-list is given and the firmware matches none of it (medium)',
    severity: 'high',
  },
  {
    id: 'backdoor-command',
    sends: ['AT+QLINUXCMD=?'],
    findingWhen: 'any answer other than a plain ERROR (the test form exists, so the command does)',
    severity: 'critical',
  },
  {
    id: 'adb-unlock',
    sends: ['AT+QADBKEY?'],
    findingWhen: 'the module answers with a salt, from which the ADB unlock key is computable',
    severity: 'high',
  },
  {
    id: 'adb-enabled',
    sends: ['AT+QCFG="usbcfg"'],
    findingWhen: 'the <adb> field of the usbcfg query is 1',
    severity: 'medium',
  },
  {
    id: 'key-readable',
    sends: [
      'AT+QFOPEN="<name>",2',
      'AT+QFREAD=<fh>,16',
      'AT+QFCLOSE=<fh>',
      'AT+QSECREAD="<name>" (2G NVRAM:/RAM: names instead of the three above)',
    ],
    findingWhen:
      'AT+QFREAD returns any bytes of the client key file (compared in memory with the key ' +
      'written, then zeroed); on 2G, AT+QSECREAD returning more than presence and checksum',
    severity: 'high',
  },
  {
    id: 'tls-context',
    sends: [
      'AT+QSSLCFG="seclevel",<ctx>',
      'AT+QSSLCFG="sslversion",<ctx>',
      'AT+QSSLCFG="cacert",<ctx>',
      'AT+QSSLCFG="clientcert",<ctx>',
      'AT+QSSLCFG="clientkey",<ctx>',
    ],
    findingWhen:
      'seclevel is not 2, sslversion is not 3 (TLS 1.2), or a file setting names another ' +
      'file than the one just written',
    severity: 'high',
  },
];

/** The base severity of a probe's finding. */
export function probeSeverity(id: FindingId): Severity {
  const p = AUDIT_PROBES.find((d) => d.id === id);
  if (!p) throw new RangeError(`no audit probe "${id}"`);
  return p.severity;
}
