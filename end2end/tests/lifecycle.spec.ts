import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "@playwright/test";
import { demoAccount } from "./accounts";
import { LoginPage } from "./pages";

/** The write token serve.sh made with `kiln token create`. */
const writeToken = () => readFileSync(join(__dirname, "..", ".state", "token.txt"), "utf8").trim();

test("a group admin deprecates an image for its successor, retires it, and restores it", async ({ page, request }, info) => {
  const suffix = info.project.name;
  const [old, next] = [`life-old-${suffix}`, `life-new-${suffix}`];
  const auth = { authorization: `Bearer ${writeToken()}` };
  for (const display of [old, next]) {
    const res = await request.post("/api/v1/groups/launch-e2e/images", {
      headers: auth,
      data: { display_name: display, type: "cpu", url: `registry.example/${display}:1` },
    });
    expect([201, 422]).toContain(res.status());
    // A retried run starts from an image in use.
    expect((await request.post(`/api/v1/groups/launch-e2e/images/${display}/restore`, { headers: auth })).status()).toBe(200);
  }

  await new LoginPage(page).open(`/groups/launch-e2e/images?q=${old}`);
  await new LoginPage(page).signIn(demoAccount("demo-admin"));
  await page.getByRole("link", { name: `Deprecate, retire or restore image ${old}` }).click();
  await expect(page.getByRole("heading", { name: `Lifecycle of image ${old}` })).toBeVisible();
  await expect(page.getByTestId("standing")).toHaveText("In use: launch pages offer it.");

  // A retire date that has passed is refused, naming the field; nothing changes.
  await page.getByLabel("Retire on").fill("2000-01-01");
  await page.getByRole("button", { name: "Deprecate", exact: true }).click();
  await expect(page.getByRole("alert")).toContainText("Retire on: must be a date after today");
  await expect(page.getByLabel("Retire on")).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByTestId("standing")).toHaveText("In use: launch pages offer it.");

  await page.getByLabel("Successor").selectOption(next);
  await page.getByLabel("Retire on").fill("2999-01-01");
  await page.getByRole("button", { name: "Deprecate", exact: true }).click();
  await expect(page).toHaveURL(/\/groups\/launch-e2e\/images$/);
  const note = `Deprecated — use ${next} instead; it leaves the launch list on 2999-01-01 00:00 UTC.`;
  await page.goto(`/groups/launch-e2e/images?q=${old}`);
  await expect(page.getByRole("link", { name: note })).toHaveText("deprecated");

  // The launch page offers it still, with the note.
  await page.goto("/launch");
  if (suffix === "no-js") {
    await expect(page.locator("tr", { hasText: old })).toContainText(note);
  } else {
    await page.locator("body[data-hydrated]").waitFor({ state: "attached" });
    await page.getByRole("combobox", { name: "Image" }).fill(old);
    const option = page.getByRole("option", { name: new RegExp(old) });
    await expect(option).toContainText(note);
    await expect(option.locator(".picker__marker")).toHaveAttribute("data-tip", "Group launch-e2e · cpu · deprecated");
  }

  // Retire now: gone from the launch page, kept in the catalog.
  await page.goto(`/groups/launch-e2e/images/${old}/lifecycle`);
  await expect(page.getByTestId("standing")).toHaveText(note);
  await expect(page.getByLabel("Successor")).toHaveValue(next);
  await page.getByRole("button", { name: `Retire ${old} now` }).click();
  await expect(page).toHaveURL(/\/groups\/launch-e2e\/images$/);
  await page.goto(`/groups/launch-e2e/images?q=${old}`);
  await expect(page.locator("tr", { hasText: old }).locator(".standing")).toHaveText("retired");
  await page.goto("/launch");
  await expect(page.getByRole("heading", { name: "Launch" })).toBeVisible();
  await expect(page.locator("body")).not.toContainText(old);

  // Restore: offered again, without a note.
  await page.goto(`/groups/launch-e2e/images/${old}/lifecycle`);
  await expect(page.getByTestId("standing")).toContainText("Retired on");
  await page.getByRole("button", { name: `Restore ${old}` }).click();
  await page.goto(`/groups/launch-e2e/images?q=${old}`);
  await expect(page.locator("tr", { hasText: old }).locator(".standing")).toHaveCount(0);
});
