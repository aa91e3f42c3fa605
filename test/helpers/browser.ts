// Headless Chromium (Debian's /usr/bin/chromium) driven by puppeteer-core, for tests of the pages
// the router serves. close() ends the browser and, should it not go, its process by pid.
import type { ExecutionContext } from 'ava';
import puppeteer, { type Browser } from 'puppeteer-core';

export const CHROMIUM = '/usr/bin/chromium';

export interface HeadlessBrowser {
  browser: Browser;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<HeadlessBrowser> {
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--disable-extensions'],
  });
  const pid = browser.process()?.pid;
  let closed = false;
  return {
    browser,
    async close() {
      if (closed) return;
      closed = true;
      const timer = setTimeout(() => {
        try {
          if (pid !== undefined) process.kill(pid, 'SIGKILL');
        } catch {
          // gone already
        }
      }, 5_000);
      await browser.close().catch(() => {});
      clearTimeout(timer);
      try {
        if (pid !== undefined) process.kill(pid, 'SIGKILL');
      } catch {
        // exited, as it should have
      }
    },
  };
}

/** A browser closed when the test ends, whatever its outcome. */
export async function browserFor(t: ExecutionContext): Promise<Browser> {
  const b = await launchBrowser();
  t.teardown(() => b.close());
  return b.browser;
}
