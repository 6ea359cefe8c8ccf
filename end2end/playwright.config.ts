import { defineConfig } from "@playwright/test";

// Every spec runs twice: once hydrated, once with JavaScript off, which proves that the
// server-rendered forms and links work before (and without) the wasm bundle.
const port = 3900;
// The sign-in tests: a second Kiln in OIDC mode and the OpenID provider it trusts.
const oidcPort = 3901;
const providerPort = 3910;

export default defineConfig({
  testDir: "./tests",
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
      ],
    },
  },
  projects: [
    { name: "hydrated", use: { javaScriptEnabled: true }, testIgnore: /oidc\// },
    { name: "no-js", use: { javaScriptEnabled: false }, testIgnore: /oidc\// },
    {
      name: "oidc-hydrated",
      testMatch: /oidc\/.*\.spec\.ts/,
      use: { javaScriptEnabled: true, baseURL: `http://127.0.0.1:${oidcPort}` },
    },
    {
      name: "oidc-no-js",
      testMatch: /oidc\/.*\.spec\.ts/,
      use: { javaScriptEnabled: false, baseURL: `http://127.0.0.1:${oidcPort}` },
    },
  ],
  webServer: [
    {
      command: `bash ./serve.sh ${port}`,
      url: `http://127.0.0.1:${port}/readyz`,
      timeout: 60_000,
      reuseExistingServer: false,
      stdout: "pipe",
      stderr: "pipe",
    },
    {
      command: `node oidc/provider.mjs ${providerPort} http://127.0.0.1:${oidcPort}`,
      url: `http://127.0.0.1:${providerPort}/.well-known/openid-configuration`,
      timeout: 30_000,
      reuseExistingServer: false,
      stdout: "pipe",
      stderr: "pipe",
    },
    {
      command: `bash ./serve-oidc.sh ${oidcPort} ${providerPort}`,
      url: `http://127.0.0.1:${oidcPort}/readyz`,
      timeout: 60_000,
      reuseExistingServer: false,
      stdout: "pipe",
      stderr: "pipe",
    },
  ],
});
