/** The bridge could not start or serve (port taken, renderer build missing or failed). */
export class BridgeError extends Error {
  override name = 'BridgeError';
  constructor(
    message: string,
    readonly details: { port?: number; path?: string } = {},
  ) {
    super(message);
  }
}
