// Debian's headless Chromium (/usr/bin/chromium) through playwright-core, for the tests that open
// report.html: launched offline-minded (no background networking, updates or sync), and pages that
// record console errors, page errors and every request so a test can say "no errors, nothing fetched".
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Where the screenshots go (the repository's test-artifacts/). */
export const ARTIFACTS = join(import.meta.dirname, '..', '..', '..', 'test-artifacts');

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}

/** `file` loaded in a new page (1200 × 900 unless told), with its console errors, page errors and requests recorded. */
export async function openPage(
  browser: Browser,
  file: string,
  opts: { width?: number; height?: number; dark?: boolean } = {},
): Promise<{ page: Page; errors: string[]; requests: string[] }> {
  const page = await browser.newPage({ viewport: { width: opts.width ?? 1200, height: opts.height ?? 900 } });
  if (opts.dark) await page.emulateMedia({ colorScheme: 'dark' });
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  return { page, errors, requests };
}
