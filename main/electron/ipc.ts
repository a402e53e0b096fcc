/**
 * The only module that touches ipcMain (lint enforces it). `handle()` checks the sender
 * frame and then runs the same validation core as the bridge (main/app/dispatch.ts).
 */
import { ipcMain, type BrowserWindow, type IpcMainInvokeEvent } from 'electron';
import type { ZodType } from 'zod';
import { requestChannels, type RequestChannel } from '../../contract/channels.ts';
import type { Result } from '../../contract/result.ts';
import { requestSchemas } from '../../contract/schemas.ts';
import { failure } from '../app/errors.ts';
import type { Handlers } from '../app/dispatch.ts';
import { runValidated } from '../app/dispatch.ts';
import type { SecretRegistry } from '../app/secret-guard.ts';
import { isTrustedSender, type TrustedOrigins } from './sender.ts';

export interface IpcContext {
  window: () => BrowserWindow | null;
  trusted: TrustedOrigins;
  secrets: SecretRegistry;
}

function senderIsTrusted(event: IpcMainInvokeEvent, ctx: IpcContext): boolean {
  const frame = event.senderFrame;
  const win = ctx.window();
  if (!frame || !win || win.isDestroyed()) return false;
  return isTrustedSender(
    {
      url: frame.url,
      isMainFrame: frame === event.sender.mainFrame,
      fromStationWindow: event.sender.id === win.webContents.id,
    },
    ctx.trusted,
  );
}

/**
 * IPC registration bound to one station window: `handle(channel, schema, fn)` registers a
 * validated, sender-checked handler; `registerHandlers` does it for every contract channel
 * and returns a function that removes them all.
 */
export function ipcFor(ctx: IpcContext) {
  function handle<T, R>(
    channel: RequestChannel,
    schema: ZodType<T>,
    fn: (request: T) => Promise<R>,
  ): void {
    ipcMain.handle(channel, async (event, raw: unknown): Promise<Result<R>> => {
      if (!senderIsTrusted(event, ctx)) {
        return failure('forbidden', `${channel}: sender is not the station window`, { channel });
      }
      return runValidated(channel, schema, fn, raw, ctx.secrets);
    });
  }

  function registerHandlers(handlers: Handlers): () => void {
    for (const channel of requestChannels) {
      handle(
        channel,
        requestSchemas[channel] as ZodType<unknown>,
        handlers[channel] as (request: unknown) => Promise<unknown>,
      );
    }
    return () => {
      for (const channel of requestChannels) ipcMain.removeHandler(channel);
    };
  }

  return { handle, registerHandlers };
}
