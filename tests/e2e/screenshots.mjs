// Saves docs/screenshot-streaming.png (mid-answer) and docs/screenshot-complete.png (finished, verified) from a
// real run: a TokenWire server process and the demo page in Debian chromium.
//   node screenshots.mjs [--dark]
import path from 'node:path';
import { startServer, launchBrowser, openDemo, waitForPage, clickPrompt, repoRoot } from './harness.mjs';

const dark = process.argv.includes('--dark');
const suffix = dark ? '-dark' : '';
const out = (name) => path.join(repoRoot, 'docs', `screenshot-${name}${suffix}.png`);

const server = await startServer({ logName: 'screenshots' });
const browser = await launchBrowser();
try {
  const { context, page } = await openDemo(browser, server, { viewport: { width: 1000, height: 720 }, colorScheme: dark ? 'dark' : 'light' });
  await clickPrompt(page, 'Explain resumable streams');
  await waitForPage(page, (s) => s.status === 'Streaming' && s.text.length >= 170, 30_000, 'half an answer');
  // animations: 'disabled' freezes the blinking cursor in its visible phase.
  await page.screenshot({ path: out('streaming'), animations: 'disabled' });
  await waitForPage(page, (s) => s.verified === 'verified', 30_000, 'verified answer');
  await page.screenshot({ path: out('complete'), animations: 'disabled' });
  await context.close();
  console.log(`wrote ${out('streaming')} and ${out('complete')}`);
} finally {
  await browser.close();
  await server.stop();
}
