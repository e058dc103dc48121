import { join } from 'node:path';
import { chromium } from 'playwright-core';

// Takes docs/chat.png, the README's picture of the browser chat: Chromium (headless, as the
// browser tests run it) against a development server, signed in with its development token, with a
// tool call, an answer and an approval on screen.
//
//   npm start                                     # in one terminal: no JWT_SECRET, a fresh .data/
//   npx ts-node --transpile-only scripts/screenshot.ts [http://localhost:3000]
const url = process.argv[2] ?? 'http://localhost:3000';
const out = join(__dirname, '..', 'docs', 'chat.png');

async function main(): Promise<void> {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 1060 } });
    page.setDefaultTimeout(20_000);
    await page.goto(url);
    await page.getByRole('button', { name: 'Use development token' }).click();
    await page.locator('#connection[data-state="open"]').waitFor();
    await page.getByRole('button', { name: 'New thread' }).click();
    const message = page.getByRole('textbox', { name: 'Message' });
    await message.fill('What is 17 * 23?');
    await message.press('Enter');
    await page.locator('.run-status[data-tone="done"]').waitFor();
    await message.fill('notify me that the build is done');
    await message.press('Enter');
    await page.getByRole('button', { name: 'Approve' }).waitFor();
    // The composer without the focus ring of the caret.
    await message.blur();
    await page.screenshot({ path: out });
    console.log(`wrote ${out}`);
  } finally {
    await browser.close();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
