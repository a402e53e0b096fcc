import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's Chromium, headless, with nothing reaching out to the network on its own. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--headless',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * A desktop-sized page that records every WebSocket frame it receives into `received`
 * (the tests look there for secrets) and waits up to a minute by default.
 */
export async function bridgePage(browser: Browser, received: string[]): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.setDefaultTimeout(60_000);
  page.on('websocket', (ws) => ws.on('framereceived', (f) => received.push(String(f.payload))));
  return page;
}
