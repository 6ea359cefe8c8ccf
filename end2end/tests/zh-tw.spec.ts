import { expect, test } from "@playwright/test";
import { demoAccount, otherAdmin } from "./accounts";

// The seed's walk in Traditional Chinese: a browser that asks for zh-TW gets every page of
// the walk in it, rendered so by the server (no flash of English), with the manual's
// terms and the labels it keeps in English. The switch remembers the other choice.
test.use({ locale: "zh-TW" });

test("a group admin whose browser asks for zh-TW follows the manual in Chinese", async ({ page }, info) => {
  const group = `zh-${info.project.name}`;
  const account = demoAccount("demo-admin");
  const first = await page.goto("/login");
  // Rendered in Chinese on the server: the HTML as sent already says so.
  const html = await first!.text();
  expect(html).toContain('<html lang="zh-TW"');
  expect(html).toContain("登入 Kiln");
  await expect(page.locator("html")).toHaveAttribute("lang", "zh-TW");
  await page.getByLabel("使用者名稱").fill(account.user);
  await page.getByLabel("密碼").fill(account.password);
  await page.getByRole("button", { name: "登入" }).click();
  await expect(page.getByTestId("signed-in-user")).toHaveText(account.user);

  // 映像檔, then New Image, Display name and Description, then the way to add it.
  await page.goto(`/groups/${group}/images`);
  await page.getByRole("navigation", { name: "主選單" }).getByRole("link", { name: "映像檔", exact: true }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("映像檔");
  await expect(page.getByText("此群組尚無映像檔。")).toBeVisible();
  await expect(page.getByLabel("Search Image")).toBeVisible();
  await page.getByRole("link", { name: "New Image" }).click();
  await expect(page.getByRole("heading", { name: "New Image" })).toBeVisible();
  await expect(page.getByText(`${group} 群組`, { exact: true })).toBeVisible();
  await page.getByLabel("Display name").fill("zh.notebook");
  await page.getByLabel("Description").fill("中文描述");
  await page.getByRole("navigation", { name: "加入映像檔的方式" }).getByRole("button", { name: "Build custom image" }).click();
  const build = page.getByRole("form", { name: "Build custom image" });
  await expect(build.getByLabel("Display name")).toHaveValue("zh.notebook");
  await expect(build.getByText("一行輸入一個套件，總共至少一個；輸入時即逐行檢查。")).toBeVisible();
  await page.getByRole("navigation", { name: "加入映像檔的方式" }).getByRole("button", { name: "Use existing image" }).click();
  const existing = page.getByRole("form", { name: "Use existing image" });
  await expect(existing.getByLabel("Description")).toHaveValue("中文描述");
  await existing.getByLabel("Container image url", { exact: true }).fill("registry.example.org/zh/notebook:1");
  await existing.getByRole("button", { name: "Create", exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`/groups/${group}/images$`));
  await expect(page.locator("tbody")).toContainText("中文描述");
  await expect(page.getByText("第 1–1 筆，共 1 筆")).toBeVisible();
  await expect(page.getByRole("link", { name: "刪除映像檔 zh.notebook" })).toBeVisible();

  // The switch: the same page in English, remembered over the browser's zh-TW.
  await page.getByRole("button", { name: "English" }).click();
  await expect(page).toHaveURL(new RegExp(`/groups/${group}/images$`));
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Images");
  await expect(page.locator("html")).toHaveAttribute("lang", "en");
  await page.reload();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Images");
  await page.getByRole("button", { name: "繁體中文" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("映像檔");
  await expect(page.locator("html")).toHaveAttribute("lang", "zh-TW");
});

test("a browser that asks for English, or for nothing this UI speaks, gets English", async ({ browser }) => {
  for (const locale of ["en-US", "fr-FR", "zh-CN"]) {
    const context = await browser.newContext({ locale });
    const page = await context.newPage();
    await page.goto("/login");
    await expect(page.locator("html"), locale).toHaveAttribute("lang", "en");
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Sign in to Kiln");
    await context.close();
  }
});

test("a refused form says why in zh-TW, from the refusal's code", async ({ page }, info) => {
  const group = `zh-${info.project.name}`;
  const account = demoAccount("demo-admin");
  await page.goto(`/login?next=${encodeURIComponent(`/groups/${group}/images/new`)}`);
  await page.getByLabel("使用者名稱").fill(account.user);
  await page.getByLabel("密碼").fill(account.password);
  await page.getByRole("button", { name: "登入" }).click();
  await page.getByLabel("Display name").fill("Bad");
  await page.getByLabel("Description").fill("x");
  await page.getByLabel("Container image url", { exact: true }).fill("registry.example.org/zh/bad:1");
  await page.getByRole("button", { name: "Create", exact: true }).click();
  await expect(page.getByRole("alert").filter({ hasText: "Display name:" })).toHaveText(
    "Display name: 只能填寫小寫字母、數字、點（“.”）、連接號（“-”），不可用「B」（請改用小寫）",
  );
  // A package line refused on the build form: the box, the line and the text, in Chinese.
  await page.goto(`/groups/${group}/images/new?tab=build`);
  const build = page.getByRole("form", { name: "Build custom image" });
  await build.getByLabel("Display name").fill("zh-bad-build");
  await build.getByLabel("Base image", { exact: true }).fill("127.0.0.1:5055/base/debian:bookworm");
  await build.getByLabel("APT").fill("hello\nNot A Package");
  await build.getByRole("button", { name: "Create" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "APT 第 2 行" }).first()).toContainText("APT 第 2 行：「Not A Package」");
});

test("a refused page says why in zh-TW: another group's admin is not a member here", async ({ page }, info) => {
  const group = `zh-${info.project.name}`;
  await page.goto("/login");
  await page.getByLabel("使用者名稱").fill(otherAdmin.user);
  await page.getByLabel("密碼").fill(otherAdmin.password);
  await page.getByRole("button", { name: "登入" }).click();
  await expect(page.getByTestId("signed-in-user")).toHaveText(otherAdmin.user);
  const response = await page.goto(`/groups/${group}/images`);
  expect(response?.status()).toBe(403);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("沒有權限");
  await expect(page.getByRole("alert")).toHaveText(`您不是 ${group} 群組的成員。`);
});

test("the other refusals are in zh-TW too: a wrong password, an image that does not exist", async ({ page }, info) => {
  const group = `zh-${info.project.name}`;
  const account = demoAccount("demo-admin");
  await page.goto("/login");
  await page.getByLabel("使用者名稱").fill(account.user);
  await page.getByLabel("密碼").fill("not the password");
  await page.getByRole("button", { name: "登入" }).click();
  await expect(page.getByRole("alert")).toHaveText("使用者名稱或密碼錯誤。");
  await page.getByLabel("使用者名稱").fill(account.user);
  await page.getByLabel("密碼").fill(account.password);
  await page.getByRole("button", { name: "登入" }).click();
  await expect(page.getByTestId("signed-in-user")).toHaveText(account.user);
  const response = await page.goto(`/groups/${group}/images/no-such-image/lifecycle`);
  expect(response?.status()).toBe(404);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("找不到");
  await expect(page.getByRole("alert")).toHaveText("沒有映像檔 no-such-image。");
});
