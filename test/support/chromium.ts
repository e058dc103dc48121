import { Browser, chromium } from 'playwright-core';

// Debian's Chromium (CHROMIUM_PATH for another), headless, with nothing that reaches the network on
// its own. Each launch gets a fresh temporary profile (user-data-dir), removed when it closes.
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
}
