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

  /** Signs in and waits until the header shows the account. */
  async signInAs(account: Account) {
    await this.signIn(account);
    await expect(this.page.getByTestId("signed-in-user")).toHaveText(account.user);
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

/** What the New Image and Edit forms are filled with. */
export interface ImageInput {
  displayName: string;
  description?: string;
  type: "cpu" | "gpu" | "universal";
  url: string;
  pullSecret?: string;
  gpuUrl?: string;
}

/** The image form, on New Image and Edit. */
export class ImageFormPage {
  constructor(private page: Page) {}

  async fill(image: ImageInput) {
    const p = this.page;
    await p.getByLabel("Display name").fill(image.displayName);
    if (image.description !== undefined) await p.getByLabel("Description").fill(image.description);
    await p.getByLabel("Type", { exact: true }).selectOption(image.type);
    await p.getByLabel("Container image url", { exact: true }).fill(image.url);
    if (image.pullSecret) {
      await p.getByLabel("The registry needs a pull secret").check();
      await p.getByLabel("Pull secret", { exact: true }).selectOption(image.pullSecret);
    }
    if (image.gpuUrl) {
      await p.getByLabel(/Use a different image on GPU/).check();
      await p.getByLabel("Container image url for GPU").fill(image.gpuUrl);
    }
  }

  async submit(button: "Create" | "Save") {
    await this.page.getByRole("button", { name: button, exact: true }).click();
  }
}

/** The catalog table of a group. */
export class CatalogPage {
  constructor(private page: Page, private group: string) {}

  async open(query = "") {
    return this.page.goto(`/groups/${this.group}/images${query}`);
  }

  async add(image: ImageInput) {
    await this.page.getByRole("link", { name: "New Image" }).click();
    await expect(this.page.getByRole("heading", { name: "New Image" })).toBeVisible();
    const form = new ImageFormPage(this.page);
    await form.fill(image);
    await form.submit("Create");
    await expect(this.page).toHaveURL(new RegExp(`/groups/${this.group}/images$`));
  }

  /** The Name column, top to bottom. */
  names() {
    return this.page.locator("tbody tr td.table__name");
  }

  async sortBy(heading: string) {
    await this.page.locator("thead").getByRole("link", { name: new RegExp(`^${heading}`) }).click();
  }

  async search(words: string) {
    await this.page.getByLabel("Search Image").fill(words);
    await this.page.getByRole("button", { name: "Search" }).click();
  }
}
