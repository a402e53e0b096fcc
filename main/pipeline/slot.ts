import {
  deriveDeviceId,
  normalizeHardwareIds,
  type HardwareIds,
} from '../../certs/hardware-ids.ts';
import type { ProductProfile } from '../profile/schema.ts';
import type { IssuanceBudget } from './caps.ts';
import { checkDuplicate, type HardwareClaims } from './duplicates.ts';
import { SlotTimeoutError, StepRefusedError, describeFailure } from './errors.ts';
import type { SlotEvent, SlotFailure, SlotIdentity, SlotSuccess } from './events.ts';
import type { StepJournal } from './journal.ts';
import type {
  AuditHook,
  BlobEncoder,
  BoardConnector,
  BoardMcu,
  BoardModem,
  ClientPems,
  DeviceIssuer,
  FindingLike,
  IssuedDevice,
  LedgerPort,
  PlannedDevice,
  StepProgress,
} from './ports.ts';
import { SlotStateMachine, totalPercent, type ProvisionStep } from './state-machine.ts';
import { runDeviceStep, timeoutSignal } from './device-step.ts';
import {
  abortRecord,
  commitRecord,
  intentRecord,
  revokeRecord,
  type RecordContext,
} from './records.ts';

/** One fixture position: a modem port and an MCU port. */
export interface SlotConfig {
  slot: string;
  modemPort: string;
  mcuPort: string;
}

/** Everything a slot run shares with the other slots of its batch. */
export interface SlotEnvironment {
  profile: ProductProfile;
  /** PEM (LF) of the server CA the modem must trust. */
  serverCaPem: string;
  batch: string;
  operator: string;
  reprovision: boolean;
  ledger: LedgerPort;
  issuer: DeviceIssuer;
  board: BoardConnector;
  encodeBlob: BlobEncoder;
  budget: IssuanceBudget;
  claims: HardwareClaims;
  journal: StepJournal;
  /** Hook for the later audit step; absent or policy 'off' skips it. */
  audit?: AuditHook;
  emit: (event: SlotEvent) => void;
}

export type SlotOutcome = { ok: true; result: SlotSuccess } | { ok: false; failure: SlotFailure };

/**
 * Provisions the board on one slot: identify → duplicate check → intent → issue → modem
 * write → audit → MCU write → read-out protection → commit → zeroize. Never throws: every
 * failure ends as a SlotFailure, with an abort record (and the serials to revoke) once an
 * intent exists. Ports are closed and key material wiped on every path.
 */
export async function provisionSlot(
  config: SlotConfig,
  env: SlotEnvironment,
  signal: AbortSignal,
): Promise<SlotOutcome> {
  const run = new SlotRun(config, env, signal);
  return run.execute();
}

class SlotRun {
  private readonly started = Date.now();
  private readonly machine: SlotStateMachine;
  private readonly slotSignal: AbortSignal;
  private readonly slotTimer: { signal: AbortSignal; clear: () => void };
  private modem: BoardModem | undefined;
  private mcu: BoardMcu | undefined;
  private plan: PlannedDevice | undefined;
  private issued: IssuedDevice | undefined;
  private blob: Uint8Array | undefined;
  private intentIndex: number | undefined;
  private claimed = false;
  private journalChain: Promise<void> = Promise.resolve();
  /** Device opens still in flight (identify), awaited before the ports are closed. */
  private opening: Promise<unknown> | undefined;
  /** The modem write, started during the intent so the module is prepared meanwhile. */
  private modemWrite: Promise<void> | undefined;
  /** Hands the issued modem credentials to that write, or calls it off. */
  private modemCredentials:
    { resolve: (c: ClientPems) => void; reject: (e: Error) => void } | undefined;

  constructor(
    private readonly config: SlotConfig,
    private readonly env: SlotEnvironment,
    signal: AbortSignal,
  ) {
    this.slotTimer = timeoutSignal(
      env.profile.timeouts.slotMs,
      () => new SlotTimeoutError(config.slot, this.machine.step, env.profile.timeouts.slotMs),
    );
    this.slotSignal = AbortSignal.any([signal, this.slotTimer.signal]);
    this.machine = new SlotStateMachine(config.slot, (from, to) => {
      this.env.emit({ type: 'state', slot: config.slot, from, to, elapsedMs: this.elapsed() });
      if (this.intentIndex !== undefined && to !== 'passed' && to !== 'failed')
        this.journalStep(this.intentIndex, to === 'aborting' ? (this.machine.step ?? to) : to);
    });
  }

  private get slot(): string {
    return this.config.slot;
  }

  private elapsed(): number {
    return Date.now() - this.started;
  }

  async execute(): Promise<SlotOutcome> {
    try {
      const result = await this.provision();
      return { ok: true, result };
    } catch (e) {
      return { ok: false, failure: await this.fail(e) };
    } finally {
      this.slotTimer.clear();
      // A modem write still waiting for credentials that will not come stops now; its
      // failure was not this slot's (that is already reported).
      this.modemCredentials?.reject(new Error('the slot ended before the credentials were issued'));
      await this.modemWrite?.catch(() => {});
      this.wipe();
      if (this.claimed) this.env.claims.release(this.slot);
      await this.closePorts();
    }
  }

  private async provision(): Promise<SlotSuccess> {
    const { profile } = this.env;

    // Identify: modem over AT, MCU over the bootloader.
    this.enter('identify');
    const identity = await this.step('identify', profile.timeouts.identifyMs, (s) =>
      this.identify(s),
    );
    const ids: HardwareIds = {
      imei: identity.imei,
      iccid: identity.iccid,
      mcuUid: identity.mcuUid,
    };
    this.env.emit({ type: 'identified', slot: this.slot, identity, elapsedMs: this.elapsed() });

    // Duplicate check (and the explicit re-provision's revoke records).
    this.enter('duplicate-check');
    const revokeIndex = await this.ledgerStep(() => this.duplicateCheck(ids, identity.deviceId));

    // Intent: caps first, then plan (keys + TBS), then the durable intent record. Once the
    // cap allows the board, the modem write starts: stale files go and the free space is
    // read while keys are made, the intent is made durable and the certificates are signed.
    // Nothing is uploaded before the certificates exist, and the wire carries exactly the
    // bytes of a write started afterwards.
    this.enter('intent');
    await this.ledgerStep(() => this.intent(ids, identity.deviceId, () => this.startModemWrite()));

    this.enter('issue');
    const issued = await this.ledgerStep(async () => {
      this.issued = await this.env.issuer.sign(this.plan!);
      return this.issued;
    });

    this.enter('modem-write');
    this.modemCredentials?.resolve({
      clientCertPem: issued.modem.certificatePem,
      clientKeyPem: issued.modem.privateKeyPem,
    });
    this.modemCredentials = undefined;
    await this.modemWrite;

    this.enter('audit');
    const audit = await this.step('audit', profile.timeouts.modemWriteMs, (s) => this.runAudit(s));

    this.enter('mcu-write');
    await this.step('mcu-write', profile.timeouts.mcuWriteMs, (s) => {
      this.blob = this.env.encodeBlob({
        deviceId: identity.deviceId,
        mcuUid: identity.mcuUid,
        mcuPrivateKey: issued.mcu.privateKeyScalar,
        mcuCertificateDer: issued.mcu.certificateDer,
        serverPublicKey: Buffer.from(profile.endToEnd.serverPublicKeyHex, 'hex'),
        modemCertSha256: Buffer.from(issued.modem.fingerprintSha256Hex, 'hex'),
      });
      return this.mcu!.writeCredentials(this.blob, {
        onProgress: (p) => this.progress('mcu-write', p),
        signal: s,
      });
    });

    if (profile.mcu.readoutProtection) {
      this.enter('readout-protect');
      await this.step('readout-protect', profile.timeouts.mcuWriteMs, (s) =>
        this.mcu!.readoutProtect(s),
      );
    }

    this.enter('commit');
    const commitIndex = await this.ledgerStep(async () => {
      const { index } = await this.env.ledger.append(
        commitRecord(this.recordContext(), this.intentIndex!, identity, issued, audit),
      );
      return index;
    });
    const intentIndex = this.intentIndex!;
    this.intentIndex = undefined; // committed: nothing left to abort
    await this.journalForget(intentIndex);

    // Committed: a cancel arriving now must not turn a provisioned board into a failure.
    this.enter('zeroize', { evenIfCancelled: true });
    this.wipe();
    this.progress('zeroize', {
      fraction: 1,
      message: 'private keys wiped from station memory',
    });
    this.machine.to('passed');

    const result: SlotSuccess = {
      slot: this.slot,
      identity,
      commitIndex,
      intentIndex,
      modemCertFingerprintSha256Hex: issued.modem.fingerprintSha256Hex,
      mcuCertFingerprintSha256Hex: issued.mcu.fingerprintSha256Hex,
      modemSerialHex: issued.modem.serialHex,
      mcuSerialHex: issued.mcu.serialHex,
      ...(revokeIndex !== undefined ? { revokeIndex } : {}),
      elapsedMs: this.elapsed(),
    };
    this.env.emit({ type: 'pass', slot: this.slot, result });
    return result;
  }

  private async identify(signal: AbortSignal): Promise<SlotIdentity> {
    const { profile, board } = this.env;
    const opts = {
      slot: this.slot,
      signal,
      log: (m: string, level: 'info' | 'warn' = 'info') => this.log(level, m),
    };
    this.progress('identify', {
      fraction: 0,
      message: `reading modem ${this.config.modemPort} and MCU ${this.config.mcuPort}`,
    });
    // The two devices sit on separate UARTs: identify both at once. Each port is kept as
    // soon as it opens, and closePorts() waits for an open still under way, so a cancelled
    // identify never leaves a port open behind it.
    const opening = Promise.allSettled([
      board.openModem(this.config.modemPort, opts).then((m) => (this.modem = m)),
      board.openMcu(this.config.mcuPort, opts).then((u) => (this.mcu = u)),
    ]);
    this.opening = opening;
    const [modem, mcu] = await opening;
    if (modem.status === 'rejected') throw modem.reason;
    if (mcu.status === 'rejected') throw mcu.reason;
    this.modem = modem.value;
    this.mcu = mcu.value;
    const m = this.modem.identity;
    if (profile.modem.family && m.family !== profile.modem.family)
      throw new StepRefusedError(
        'identify',
        'wrong-model',
        `modem ${m.model} is of the ${m.family} family, profile ${profile.name} expects ${profile.modem.family}`,
        m.model,
      );
    const expected = profile.modem.expectedModels;
    if (expected && expected.length > 0 && !expected.includes(m.model))
      throw new StepRefusedError(
        'identify',
        'wrong-model',
        `modem is ${m.model}, profile ${profile.name} expects ${expected.join(' or ')}`,
        m.model,
      );
    if (this.mcu.family !== profile.mcu.family)
      throw new StepRefusedError(
        'identify',
        'wrong-mcu',
        `MCU is STM32${this.mcu.family}, profile ${profile.name} expects STM32${profile.mcu.family}`,
        this.mcu.family,
      );
    const ids = normalizeHardwareIds({ imei: m.imei, iccid: m.iccid, mcuUid: this.mcu.mcuUid });
    this.progress('identify', {
      fraction: 1,
      message: `IMEI ${ids.imei} ICCID ${ids.iccid} UID ${ids.mcuUid}`,
    });
    return {
      deviceId: deriveDeviceId(ids),
      ...ids,
      modemModel: m.model,
      modemFirmware: m.firmware,
      mcuFamily: this.mcu.family,
    };
  }

  /** Returns the index of the last revoke record written for an explicit re-provision. */
  private async duplicateCheck(ids: HardwareIds, deviceId: string): Promise<number | undefined> {
    const { claims, ledger } = this.env;
    // Claim synchronously before any await so a second slot holding the same board sees it.
    const others = claims.othersThan(this.slot);
    const pre = checkDuplicate(ids, [], others, false);
    if (pre.action === 'refuse')
      throw new StepRefusedError('duplicate-check', pre.code, pre.message);
    claims.claim(this.slot, ids);
    this.claimed = true;
    const committed = await ledger.committedDevicesFor(ids);
    const d = checkDuplicate(ids, committed, [], this.env.reprovision);
    if (d.action === 'refuse') throw new StepRefusedError('duplicate-check', d.code, d.message);
    let revokeIndex: number | undefined;
    if (d.action === 'revoke-then-proceed') {
      for (const old of d.revoke) {
        const { index } = await ledger.append(revokeRecord(old, deviceId, this.recordContext()));
        revokeIndex = index;
        this.log(
          'warn',
          `re-provision: revoked ${old.deviceId} (commit #${old.commitIndex}) in record #${index}`,
        );
      }
    }
    this.progress('duplicate-check', {
      fraction: 1,
      message: revokeIndex === undefined ? 'new board' : 'old certificates revoked',
    });
    return revokeIndex;
  }

  private async intent(ids: HardwareIds, deviceId: string, onAllowed: () => void): Promise<void> {
    const { profile } = this.env;
    const cap = this.env.budget.reserve(this.env.batch);
    if (!cap.allowed) throw new StepRefusedError('intent', 'cap', cap.message);
    onAllowed();
    this.plan = await this.env.issuer.plan(ids, {
      validityDays: profile.certificates.validityDays,
    });
    if (this.plan.deviceId !== deviceId)
      throw new StepRefusedError(
        'intent',
        'defect',
        `issuer derived device ID ${this.plan.deviceId}, pipeline ${deviceId}`,
      );
    const { index } = await this.env.ledger.append(
      intentRecord(this.recordContext(), ids, this.plan),
    );
    this.intentIndex = index;
    this.journalStep(index, 'intent');
    this.progress('intent', { fraction: 1, message: `intent #${index} durable` });
  }

  /**
   * Starts the modem write under its own step timeout; it waits for `modemCredentials`
   * before uploading. Its progress shows once the slot is in the modem-write step.
   */
  private startModemWrite(): void {
    const client = new Promise<ClientPems>((resolve, reject) => {
      this.modemCredentials = { resolve, reject };
    });
    this.modemWrite = this.step('modem-write', this.env.profile.timeouts.modemWriteMs, (s) =>
      this.modem!.writeTlsCredentials(
        { caCertPem: this.env.serverCaPem, client },
        {
          onProgress: (p) => {
            if (this.machine.step === 'modem-write') this.progress('modem-write', p);
          },
          signal: s,
        },
      ),
    );
    // Awaited in the modem-write step, or on the way out if the slot fails before it.
    this.modemWrite.catch(() => {});
  }

  private async runAudit(
    signal: AbortSignal,
  ): Promise<{ findings: FindingLike[]; modemKeyReadable?: boolean } | undefined> {
    if (!this.env.profile.audit.enabled || !this.env.audit) {
      this.progress('audit', { fraction: 1, message: 'audit off in this profile' });
      return undefined;
    }
    return this.env.audit({ slot: this.slot, modem: this.modem!, signal });
  }

  /** Moves the machine into a work step and reports 0 % of it. */
  private enter(step: ProvisionStep, opts: { evenIfCancelled?: boolean } = {}): void {
    if (!opts.evenIfCancelled) this.throwIfAborted();
    this.machine.to(step);
    this.env.emit({
      type: 'progress',
      slot: this.slot,
      step,
      stepPercent: 0,
      totalPercent: totalPercent(step, 0),
      elapsedMs: this.elapsed(),
      message: step,
    });
  }

  /**
   * Runs station-side work (ledger appends, issuance) to completion even when the slot is
   * cancelled: racing past a ledger append could leave an intent the run no longer knows
   * about, or write an abort beside a commit. Cancellation is honoured at the next step.
   */
  private async ledgerStep<T>(work: () => Promise<T>): Promise<T> {
    return work();
  }

  private step<T>(
    step: ProvisionStep,
    timeoutMs: number,
    work: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    return runDeviceStep(step, timeoutMs, this.slotSignal, work);
  }

  /**
   * Journal writes are informational and never block a step, but they are kept in order
   * (a later step must not be overwritten by an earlier one, nor a forget undone).
   */
  private journalStep(intentIndex: number, step: string): void {
    this.journalChain = this.journalChain
      .then(() => this.env.journal.record(intentIndex, step))
      .catch(() => {});
  }

  private async journalForget(intentIndex: number): Promise<void> {
    this.journalChain = this.journalChain
      .then(() => this.env.journal.forget(intentIndex))
      .catch(() => {});
    await this.journalChain;
  }

  /** Where this slot's records come from. */
  private recordContext(): RecordContext {
    return {
      batch: this.env.batch,
      slot: this.slot,
      profile: this.env.profile.name,
      operator: this.env.operator,
    };
  }

  private progress(step: ProvisionStep, p: StepProgress): void {
    const pct = Math.min(100, Math.max(0, Math.round(p.fraction * 1000) / 10));
    this.env.emit({
      type: 'progress',
      slot: this.slot,
      step,
      stepPercent: pct,
      totalPercent: totalPercent(step, pct),
      ...(p.bytes !== undefined ? { bytes: p.bytes } : {}),
      ...(p.bytesTotal !== undefined ? { bytesTotal: p.bytesTotal } : {}),
      elapsedMs: this.elapsed(),
      message: p.message,
    });
  }

  private log(level: 'info' | 'warn', message: string): void {
    this.env.emit({ type: 'log', slot: this.slot, level, message, elapsedMs: this.elapsed() });
  }

  private throwIfAborted(): void {
    if (this.slotSignal.aborted) throw this.slotSignal.reason;
  }

  /** Ends the slot: abort record and serials to revoke once an intent exists, then `failed`. */
  private async fail(err: unknown): Promise<SlotFailure> {
    const step = this.machine.step ?? 'identify';
    const d = describeFailure(
      err,
      this.slotSignal.aborted && !(this.slotSignal.reason instanceof SlotTimeoutError)
        ? this.slotSignal
        : undefined,
    );
    const failure: SlotFailure = {
      slot: this.slot,
      step,
      code: d.code,
      reason: d.reason,
      ...(d.deviceAnswered !== undefined ? { deviceAnswered: d.deviceAnswered } : {}),
      revokedSerials: [],
    };
    this.wipe();
    if (this.intentIndex !== undefined && this.plan) {
      if (this.machine.state !== 'aborting') this.forceTo('aborting');
      const record = abortRecord(
        this.intentIndex,
        this.plan,
        step,
        `${d.reason}${d.deviceAnswered ? ` (device answered: ${d.deviceAnswered})` : ''}`,
      );
      const serials = record.type === 'abort' ? record.revokeSerialsHex : [];
      try {
        const { index } = await this.env.ledger.append(record);
        failure.abortIndex = index;
        failure.revokedSerials = serials;
        await this.journalForget(this.intentIndex);
      } catch (e) {
        // The intent stays open; the next start closes it as a crash. Say so.
        failure.reason += `; abort record could not be written (${describeFailure(e).reason}), the intent stays open until the next start`;
      }
    }
    this.forceTo('failed');
    this.env.emit({ type: 'fail', slot: this.slot, failure, elapsedMs: this.elapsed() });
    return failure;
  }

  /** Failure paths move through the table too; a state that cannot go there is left as is. */
  private forceTo(state: 'aborting' | 'failed'): void {
    try {
      this.machine.to(state);
    } catch {
      // Not reachable through the steps above (every failing state has a way to
      // `aborting` or `failed`); if it were, the failure is still reported with its step.
    }
  }

  private wipe(): void {
    this.blob?.fill(0);
    this.blob = undefined;
    this.issued?.zeroize();
    this.issued = undefined;
    this.plan?.zeroize();
  }

  private async closePorts(): Promise<void> {
    await this.opening;
    const closing = [this.modem?.close(), this.mcu?.close()].map((p) => p?.catch(() => {}));
    this.modem = undefined;
    this.mcu = undefined;
    await Promise.all(closing);
  }
}
