import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "@playwright/test";
import { demoAccount, systemAdmin } from "./accounts";
import { LoginPage } from "./pages";

/** The write token serve.sh made with `kiln token create`. */
const writeToken = () => readFileSync(join(__dirname, "..", ".state", "token.txt"), "utf8").trim();

test("a system admin creates a service token, sees it once, and revokes it", async ({ page }, info) => {
  await new LoginPage(page).open();
  await new LoginPage(page).signInAs(systemAdmin);
  await page.goto("/admin/tokens");
  const create = page.getByRole("button", { name: "Create token" });
  if (info.project.name === "no-js") {
    // The secret could only be shown after a redirect that loses it: the page says why.
    await expect(create).toBeDisabled();
    await expect(page.getByText("Without it, use")).toBeVisible();
    return;
  }
  const name = `hub-${Date.now()}`;
  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.getByLabel("Expires in").fill("7d");
  await create.click();
  const secret = (await page.locator("#token-secret").innerText()).trim();
  expect(secret).toMatch(/^kiln_[0-9a-f]{64}$/);
  const ask = () =>
    page.request.get("/api/v1/users/demo-member/launchable-images", { headers: { authorization: `Bearer ${secret}` } });
  expect((await ask()).status()).toBe(200);

  await page.reload();
  const row = page.locator("tr", { hasText: name });
  await expect(row).toContainText("nobody: reads launch lists only");
  // Used once just now; expires in a week.
  await expect(row).toContainText(/\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC.*\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);
  await expect(page.locator("body")).not.toContainText(secret);
  await row.getByRole("button", { name: `Revoke ${name}` }).click();
  await expect(page.locator("tr", { hasText: name })).toContainText("revoked");
  expect((await ask()).status()).toBe(401);
});

test("the launch picker offers the user's images with their markers, reasons and warnings", async ({ page, request }, info) => {
  const suffix = info.project.name;
  for (const [type, display] of [["cpu", `launch-cpu-${suffix}`], ["gpu", `launch-gpu-${suffix}`]]) {
    const res = await request.post("/api/v1/groups/launch-e2e/images", {
      headers: { authorization: `Bearer ${writeToken()}` },
      data: { display_name: display, type, url: `registry.example/${display}:1` },
    });
    expect([201, 422]).toContain(res.status());
  }
  await new LoginPage(page).open("/launch");
  await new LoginPage(page).signIn(demoAccount("demo-admin"));
  await expect(page.getByRole("heading", { name: "Launch" })).toBeVisible();
  if (suffix === "no-js") {
    // Without JavaScript the list is a table.
    const row = page.locator("tr", { hasText: `launch-gpu-${suffix}` });
    await expect(row).toContainText("Group launch-e2e · gpu");
    await expect(row).toContainText("needs a launch with a GPU");
    return;
  }
  await page.locator("body[data-hydrated]").waitFor({ state: "attached" });
  const input = page.getByRole("combobox", { name: "Image" });
  await input.fill(`launch-gpu-${suffix}`);
  const gpu = page.getByRole("option", { name: new RegExp(`launch-gpu-${suffix}`) });
  await expect(gpu).toHaveAttribute("aria-disabled", "true");
  await expect(gpu).toContainText("A GPU image: it needs a launch with a GPU.");
  await expect(gpu.locator(".picker__marker")).toHaveAttribute("data-tip", "Group launch-e2e · gpu");

  // On a GPU launch the GPU image can be picked, with the keyboard.
  await page.getByRole("radio", { name: "GPU" }).check();
  await input.fill(`launch-gpu-${suffix}`);
  await expect(page.getByRole("option", { name: new RegExp(`launch-gpu-${suffix}`) })).toHaveAttribute("aria-disabled", "false");
  await input.press("ArrowDown");
  await input.press("Enter");
  await expect(input).toHaveValue(`registry.example/launch-gpu-${suffix}:1`);
  await expect(page.locator(".launch__chosen")).toContainText("Group launch-e2e");

  // A CPU image on a GPU launch comes with a warning.
  await input.fill(`launch-cpu-${suffix}`);
  await expect(page.getByRole("option", { name: new RegExp(`launch-cpu-${suffix}`) })).toContainText("A CPU-only image: it will not use the GPU.");
});
