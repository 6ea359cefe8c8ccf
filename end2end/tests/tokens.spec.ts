import { expect, test } from "@playwright/test";
import { demoAccount } from "./accounts";
import { LoginPage } from "./pages";

test("a member sees the tokens that act as them, when each expires, and revokes one", async ({ page }, info) => {
  await new LoginPage(page).open();
  await new LoginPage(page).signInAs(demoAccount("demo-member"));
  await page.getByRole("link", { name: "Your tokens" }).click();
  await expect(page.getByRole("heading", { name: "Your tokens" })).toBeVisible();

  // serve.sh made it with `kiln token create … --expires-in 30d`.
  const name = `laptop-${info.project.name}`;
  const row = page.locator("tr", { hasText: name });
  await expect(row).toContainText("read");
  await expect(row).toContainText(/\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);
  await expect(row.locator("td").nth(4)).toHaveText("never");

  await row.getByRole("button", { name: `Revoke ${name}` }).click();
  await expect(page.locator("tr", { hasText: name })).toContainText("revoked");
  await expect(page).toHaveURL(/\/me\/tokens$/);
});
