/**
 * Sandboxed preload: exposes exactly one object, `window.keyline`, whose two methods only
 * accept channel names from the contract. Bundled as one CJS file requiring only electron.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { KeylineApi } from '../../contract/api.ts';
import { isEventChannel, isRequestChannel } from '../../contract/channels.ts';

const api: KeylineApi = {
  transport: 'electron',
  access: 'operate',
  call(channel, request) {
    if (!isRequestChannel(channel)) {
      return Promise.resolve({
        ok: false,
        code: 'invalid-request',
        kind: 'operator',
        message: 'unknown channel',
        details: {},
      });
    }
    return ipcRenderer.invoke(channel, request);
  },
  subscribe(channel, listener) {
    if (!isEventChannel(channel)) throw new Error('unknown event channel');
    const wrapped = (_event: IpcRendererEvent, payload: unknown) =>
      listener(payload as Parameters<typeof listener>[0]);
    ipcRenderer.on(channel, wrapped);
    return () => {
      ipcRenderer.removeListener(channel, wrapped);
    };
  },
};

contextBridge.exposeInMainWorld('keyline', api);
