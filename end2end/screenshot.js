// Takes the README's screenshot: `node screenshot.js URL USER PASSWORD PATH OUT.png`,
// against a running Kiln (e.g. the one serve.sh starts, after the browser tests ran).
const { chromium } = require("@playwright/test");

(async () => {
  const [base, user, password, path, out] = process.argv.slice(2);
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--no-first-run"],
  });
  const page = await browser.newPage({ viewport: { width: 1200, height: 560 } });
  await page.goto(`${base}/login?next=${encodeURIComponent(path)}`);
  await page.getByLabel("User name").fill(user);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`${base}${path}`);
  await page.locator("table").waitFor();
  await page.screenshot({ path: out });
  await browser.close();
})();
