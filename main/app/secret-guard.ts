/**
 * Last line of defence on the way out to the renderer: refuse any payload that contains
 * a PEM private key or one of the secrets the station currently knows (passphrases it
 * was given). The service never puts them in a response; this makes a slip loud.
 */
const privateKeyMarker = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

export class SecretRegistry {
  private readonly secrets = new Set<string>();

  /** Remembers a secret value (only its presence is checked, it is never returned). */
  add(secret: string): void {
    if (secret.length >= 4) this.secrets.add(secret);
  }

  /** True if the serialised payload would leak a private key or a known secret. */
  leaks(serialised: string): boolean {
    if (privateKeyMarker.test(serialised)) return true;
    for (const s of this.secrets) if (serialised.includes(s)) return true;
    return false;
  }
}
