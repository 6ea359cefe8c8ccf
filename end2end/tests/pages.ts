import { expect, Page } from "@playwright/test";
import { Account } from "./accounts";

/** The sign-in page. */
export class LoginPage {
  constructor(private page: Page) {}

  async open(next?: string) {
    await this.page.goto(next ? `/login?next=${encodeURIComponent(next)}` : "/login");
  }

  async signIn(account: Account) {
    await this.page.getByLabel("User name").fill(account.user);
    await this.page.getByLabel("Password").fill(account.password);
    await this.page.getByRole("button", { name: "Sign in" }).click();
  }

  error() {
    return this.page.locator(".form__error");
  }
}

/** The top bar: who is signed in, the group switcher, sign-out. */
export class TopBar {
  constructor(private page: Page) {}

  signedInUser() {
    return this.page.getByTestId("signed-in-user");
  }

  async switchTo(group: string) {
    await this.page.locator(".switcher__toggle").click();
    await this.page.locator(".switcher__menu").getByRole("link", { name: group, exact: true }).click();
  }

  async signOut() {
    await this.page.getByRole("button", { name: "Sign out" }).click();
  }
}

/** A group's Images page. */
export class ImagesPage {
  constructor(private page: Page) {}

  async expectGroup(group: string) {
    await expect(this.page.getByRole("heading", { name: "Images" })).toBeVisible();
    await expect(this.page.getByTestId("page-group")).toHaveText(group);
  }
}
