// End-to-end tests of Roster's admin UI: the real `roster serve` binary, a
// real SMTP receiver, and Debian's Chromium driven by playwright-core.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, copyFileSync } from "node:fs";
import { createServer } from "node:net";
import { createServer as createHttpServer } from "node:http";
import { createHmac } from "node:crypto";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "..");
const BIN = process.env.ROSTER_BIN ?? join(repo, "target/debug/roster");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const KEY = "ui-test-platform-key";
const SHOTS = join(repo, "target/ui-screenshots");
const AXE = readFileSync(join(here, "node_modules/axe-core/axe.min.js"), "utf8");

// ---------- a real SMTP receiver on loopback ----------
const mail = [];
const waiters = [];
function startSmtp() {
  const server = createServer((socket) => {
    socket.setEncoding("utf8");
    let buffer = "";
    let inData = false;
    let data = "";
    let rcpt = [];
    socket.write("220 ui-test ESMTP\r\n");
    socket.on("data", (chunk) => {
      buffer += chunk;
      let i;
      while ((i = buffer.indexOf("\r\n")) >= 0) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        if (inData) {
          if (line === ".") {
            inData = false;
            mail.push({ to: rcpt, data });
            waiters.splice(0).forEach((w) => w());
            socket.write("250 queued\r\n");
          } else {
            data += (line.startsWith("..") ? line.slice(1) : line) + "\n";
          }
          continue;
        }
        const upper = line.toUpperCase();
        if (upper.startsWith("RCPT TO:")) rcpt.push(line.slice(8).trim().replace(/[<>]/g, ""));
        if (upper.startsWith("MAIL FROM:")) rcpt = [];
        if (upper === "DATA") {
          inData = true;
          data = "";
          socket.write("354 go ahead\r\n");
        } else if (upper === "QUIT") {
          socket.end("221 bye\r\n");
        } else {
          socket.write("250 OK\r\n");
        }
      }
    });
    socket.on("error", () => {});
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

/** Decodes a quoted-printable body enough to find links. */
function plain(data) {
  return data.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
}

async function mailTo(address, predicate = () => true) {
  for (let i = 0; i < 100; i++) {
    await api("POST", "/v1/dev/sweep", {});
    const found = mail.filter((m) => m.to.includes(address) && predicate(plain(m.data)));
    if (found.length) return plain(found.at(-1).data);
    await new Promise((r) => { waiters.push(r); setTimeout(r, 100); });
  }
  throw new Error(`no email to ${address}`);
}

// ---------- a real webhook receiver on loopback ----------
/** Answers the statuses in `script` in turn, then 200; keeps every request. */
function startReceiver(script = []) {
  const got = [];
  const waiting = [];
  const server = createHttpServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      got.push({ headers: req.headers, body });
      waiting.splice(0).forEach((w) => w());
      res.statusCode = script.length ? script.shift() : 200;
      res.end();
    });
  });
  const until = async (n) => {
    for (let i = 0; i < 100 && got.length < n; i++) {
      await new Promise((r) => { waiting.push(r); setTimeout(r, 100); });
    }
    assert.ok(got.length >= n, `expected ${n} webhook requests, got ${got.length}`);
    return got;
  };
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve({ server, got, until, url: `http://127.0.0.1:${server.address().port}/hook` })),
  );
}

/** Standard Webhooks: HMAC-SHA256 with the decoded secret over id.timestamp.body. */
function verified(secret, { headers, body }) {
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const expected = createHmac("sha256", key)
    .update(`${headers["webhook-id"]}.${headers["webhook-timestamp"]}.${body}`)
    .digest("base64");
  return headers["webhook-signature"].split(" ").includes(`v1,${expected}`);
}

// ---------- the server ----------
let server, smtp, base, browser, dir;

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

async function api(method, path, body, actor) {
  const headers = { Authorization: `Bearer ${KEY}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (actor) headers["X-Roster-Actor"] = actor;
  const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

before(async () => {
  smtp = await startSmtp();
  dir = mkdtempSync(join(tmpdir(), "roster-ui-"));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn(BIN, ["serve"], {
    env: {
      ...process.env,
      ROSTER_LISTEN: `127.0.0.1:${port}`,
      ROSTER_DATABASE_URL: `sqlite://${join(dir, "roster.db")}`,
      ROSTER_PLATFORM_KEY: KEY,
      ROSTER_DEV_CLOCK: "1",
      ROSTER_JOB_INTERVAL_MS: "3600000",
      ROSTER_SMTP_URL: `smtp://127.0.0.1:${smtp.address().port}`,
      ROSTER_WEBHOOK_ALLOW_PRIVATE: "1",
    },
    stdio: ["ignore", "ignore", process.env.ROSTER_UI_TEST_LOG ? "inherit" : "ignore"],
  });
  for (let i = 0; i < 200; i++) {
    try { if ((await fetch(base + "/readyz")).ok) break; } catch {}
    await new Promise((r) => setTimeout(r, 50));
  }
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"],
  });
  mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  server?.kill("SIGTERM");
  smtp?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// ---------- helpers ----------
let orgCounter = 0;
async function newOrg(seatLimit = 20) {
  orgCounter += 1;
  const r = await api("POST", "/v1/orgs", { name: `Coaching Co ${orgCounter}`, owner_email: `owner${orgCounter}@coach.test`, owner_name: "Olivia Owner", seat_limit: seatLimit });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return { org: r.body.id, owner: r.body.owner.user_id, ownerEmail: r.body.owner.email, name: r.body.name };
}

async function addMember(org, actor, email, role, spaces = [], duration) {
  const r = await api("POST", `/v1/orgs/${org}/invitations`, { emails: [email], role, space_ids: spaces, duration }, actor);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const body = await mailTo(email, (d) => d.includes("invitations/accept"));
  const token = body.match(/token=(inv_[0-9a-f]+)/)[1];
  const a = await api("POST", "/v1/invitations/accept", { token, name: email.split("@")[0] });
  assert.equal(a.status, 200, JSON.stringify(a.body));
  return a.body.user_id;
}

/** A signed-in page for this member, through a platform-minted link. */
async function signedIn(org, user) {
  const r = await api("POST", `/v1/orgs/${org}/members/${user}/sign-in-link`);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(r.body.url);
  await page.getByRole("button", { name: "Continue to Roster" }).click();
  return page;
}

async function axe(page, name) {
  // Evaluated through the DevTools protocol: the page's own
  // Content-Security-Policy (no inline scripts) stays in force.
  await page.evaluate(AXE);
  const result = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ["violations"] }));
  const serious = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(serious.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target).join(", ")})`), [], `accessibility of ${name}`);
}

async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

// ---------- the flows ----------
test("signing in with the link from the email lands on Users", async () => {
  const { ownerEmail } = await newOrg();
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(base + "/ui/sign-in");
  await axe(page, "sign-in");
  await page.getByLabel("Email address").fill(ownerEmail);
  await page.getByRole("button", { name: "Email me a sign-in link" }).click();
  await page.getByText("a sign-in link is on its way").waitFor();
  const body = await mailTo(ownerEmail, (d) => d.includes("/ui/sign-in/link"));
  const link = body.match(/(http:\/\/\S+\/ui\/sign-in\/link\?token=sil_[0-9a-f]+)/)[1];
  await page.goto(link);
  await page.getByRole("button", { name: "Continue to Roster" }).click();
  await page.getByRole("heading", { name: "Users" }).waitFor();
  // The link works once.
  const again = await browser.newContext();
  const second = await again.newPage();
  await second.goto(link);
  await second.getByRole("button", { name: "Continue to Roster" }).click();
  await second.getByText("not valid, was already used, or has expired").waitFor();
  await context.close();
  await again.close();
});

test("a solo organization shows no role management", async () => {
  const { org, owner } = await newOrg();
  const page = await signedIn(org, owner);
  await page.goto(base + "/ui/users");
  assert.equal(await page.locator("#filter-role").count(), 0, "no role filter");
  assert.equal(await page.getByRole("columnheader", { name: "Roles" }).count(), 0, "no roles column");
  assert.equal(await page.getByText("Change role").count(), 0);
  await shot(page, "users-solo");
  await page.context().close();
});

test("inviting an Implementation Admin for 1 month shows the badge and end date, and the dev clock ends it", async () => {
  const { org, owner } = await newOrg();
  assert.equal((await api("PUT", `/v1/orgs/${org}/implementation-admin-domains`, { domains: ["upcoach.com"] })).status, 200);
  const page = await signedIn(org, owner);
  // Turn the role on in Brand & Settings.
  await page.goto(base + "/ui/settings");
  await axe(page, "settings");
  await page.getByRole("button", { name: "Turn on" }).click();
  await page.getByText("Setting saved").waitFor();
  // Invite through the modal.
  await page.goto(base + "/ui/users");
  await page.getByRole("link", { name: "Invite Users" }).click();
  const dialog = page.getByRole("dialog", { name: "Invite Users" });
  await dialog.waitFor();
  await axe(page, "invite modal");
  await shot(page, "invite-modal");
  await dialog.getByLabel("Email addresses").fill("helper@upcoach.com");
  await dialog.getByLabel("Role").selectOption("implementation_admin");
  await dialog.getByLabel("Duration (Implementation Admin only)").selectOption("1_month");
  await dialog.getByRole("button", { name: "Send Invitations" }).click();
  await page.getByText("Invitations sent").waitFor();
  const body = await mailTo("helper@upcoach.com", (d) => d.includes("invitations/accept"));
  const token = body.match(/token=(inv_[0-9a-f]+)/)[1];
  const accepted = await api("POST", "/v1/invitations/accept", { token, name: "Hana Helper" });
  assert.equal(accepted.status, 200);
  await page.goto(base + "/ui/users");
  const row = page.locator(`tr[data-user="${accepted.body.user_id}"]`);
  await row.getByText("Implementation Admin", { exact: true }).waitFor();
  assert.match(await row.locator(".ia-end").innerText(), /^Ends \d{4}-\d{2}-\d{2}$/);
  await axe(page, "users");
  await shot(page, "users");
  // A month and a day later the person is gone, before any job runs.
  assert.equal((await api("POST", "/v1/dev/clock", { advance_seconds: 32 * 86400 })).status, 200);
  await page.reload();
  assert.equal(await page.locator(`tr[data-user="${accepted.body.user_id}"]`).count(), 0);
  await page.context().close();
});

test("turning the setting off shows how many lose access and needs confirmation", async () => {
  const { org, owner } = await newOrg();
  await api("PUT", `/v1/orgs/${org}/implementation-admin-domains`, { domains: ["upcoach.com"] });
  await api("PUT", `/v1/orgs/${org}/settings/implementation-admin`, { enabled: true }, owner);
  const ia = await addMember(org, owner, "partner@upcoach.com", "implementation_admin", [], "forever");
  const page = await signedIn(org, owner);
  await page.goto(base + "/ui/settings");
  await page.getByRole("link", { name: "Turn off" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByText("1 person loses access now").waitFor();
  await axe(page, "settings confirmation");
  await shot(page, "settings-confirm");
  await dialog.getByRole("button", { name: "Turn off and remove them" }).click();
  await page.getByText("Setting saved").waitFor();
  assert.match(await page.locator("#ia-state").innerText(), /Off/);
  assert.equal((await api("GET", `/v1/orgs/${org}/members/${ia}`)).status, 404);
  await page.context().close();
});

test("the user list filters by role", async () => {
  const { org, owner } = await newOrg();
  const space = (await api("POST", `/v1/orgs/${org}/spaces`, { name: "Leadership" }, owner)).body.id;
  const fac = await addMember(org, owner, "fac@coach.test", "facilitator", [space]);
  const learner = await addMember(org, owner, "learner@coach.test", "participant", [space]);
  const page = await signedIn(org, owner);
  await page.goto(base + "/ui/users");
  await page.getByLabel("Role").selectOption("facilitator");
  await page.getByRole("button", { name: "Filter" }).click();
  await page.waitForURL(/role=facilitator/);
  assert.equal(await page.locator(`tr[data-user="${fac}"]`).count(), 1);
  assert.equal(await page.locator(`tr[data-user="${learner}"]`).count(), 0);
  assert.equal(await page.locator(`tr[data-user="${owner}"]`).count(), 0);
  // Programs, and the program's members page with the inherited-access message.
  await page.goto(`${base}/ui/spaces`);
  await page.getByRole("link", { name: "Leadership" }).click();
  await axe(page, "program members");
  await page.getByLabel("Program role for learner").selectOption("sponsor");
  await page.getByRole("button", { name: "Set role for learner" }).click();
  await page.getByText("Program role saved").waitFor();
  const learnerRoles = (await api("GET", `/v1/orgs/${org}/members/${learner}`)).body.space_roles;
  assert.deepEqual(learnerRoles, [{ space_id: space, role: "sponsor" }]);
  await shot(page, "program-members");
  await page.getByRole("link", { name: "Remove Olivia Owner from this program" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Remove" }).click();
  await page.getByText("Has not been removed").waitFor();
  await page.context().close();
});

test("a batch with one bad address shows the error and creates nothing", async () => {
  const { org, owner } = await newOrg();
  const page = await signedIn(org, owner);
  await page.goto(base + "/ui/users?modal=invite");
  const dialog = page.getByRole("dialog", { name: "Invite Users" });
  await dialog.getByLabel("Email addresses").fill("first@coach.test, second@@coach.test; third@coach.test");
  await dialog.getByLabel("Role").selectOption("admin");
  await dialog.getByRole("button", { name: "Send Invitations" }).click();
  await page.locator("#rejected").getByText("second@@coach.test").waitFor();
  assert.equal(await page.getByLabel("Email addresses").inputValue(), "first@coach.test, second@@coach.test; third@coach.test", "what was typed stays");
  await shot(page, "invite-error");
  const listed = await api("GET", `/v1/orgs/${org}/invitations`);
  assert.equal(listed.body.items.length, 0);
  await page.context().close();
});

test("participants and sponsors see no Admin Area", async () => {
  const { org, owner } = await newOrg();
  const space = (await api("POST", `/v1/orgs/${org}/spaces`, { name: "Cohort" }, owner)).body.id;
  for (const [email, role] of [["learner@cohort.test", "participant"], ["sponsor@cohort.test", "sponsor"]]) {
    const user = await addMember(org, owner, email, role, [space]);
    const page = await signedIn(org, user);
    await page.goto(base + "/ui");
    const nav = page.getByRole("navigation", { name: "Admin Area" });
    for (const section of ["Users", "Invitations", "Brand & Settings", "Audit log"]) {
      assert.equal(await nav.getByRole("link", { name: section }).count(), 0, `${role} sees no ${section}`);
    }
    const res = await page.goto(base + "/ui/users");
    assert.equal(res.status(), 403);
    await axe(page, `${role} home`);
    // Only a participant may leave the program, after confirming.
    await page.goto(`${base}/ui/spaces/${space}`);
    const leave = page.getByRole("link", { name: "Leave this program" });
    if (role === "participant") {
      await leave.click();
      await page.getByRole("dialog").getByRole("button", { name: "Leave program" }).click();
      await page.getByText("You left the program").waitFor();
      assert.deepEqual((await api("GET", `/v1/orgs/${org}/members/${user}`)).body.space_roles, []);
    } else {
      assert.equal(await leave.count(), 0);
    }
    await page.context().close();
  }
});

test("a forged form without the CSRF token is refused and changes nothing", async () => {
  const { org, owner } = await newOrg();
  const space = (await api("POST", `/v1/orgs/${org}/spaces`, { name: "P" }, owner)).body.id;
  const fac = await addMember(org, owner, "target@coach.test", "facilitator", [space]);
  const page = await signedIn(org, owner);
  const forged = await page.request.post(`${base}/ui/users/${fac}/deactivate`, { form: { nothing: "here" } });
  assert.equal(forged.status(), 403);
  const wrong = await page.request.post(`${base}/ui/users/${fac}/deactivate`, { form: { csrf: "0".repeat(64) } });
  assert.equal(wrong.status(), 403);
  assert.equal((await api("GET", `/v1/orgs/${org}/members/${fac}`)).body.status, "active");
  // The real form works: the row menu's Deactivate, with its confirmation.
  await page.goto(base + "/ui/users");
  await page.locator(`tr[data-user="${fac}"] summary`).click();
  await page.locator(`tr[data-user="${fac}"]`).getByRole("link", { name: "Deactivate" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Deactivate" }).click();
  await page.getByText("Deactivated", { exact: true }).first().waitFor();
  assert.equal((await api("GET", `/v1/orgs/${org}/members/${fac}`)).body.status, "deactivated");
  await page.context().close();
});

test("a session ends the moment the member is deactivated", async () => {
  const { org, owner } = await newOrg();
  const admin = await addMember(org, owner, "second@coach.test", "admin");
  const page = await signedIn(org, admin);
  await page.goto(base + "/ui/users");
  await page.getByRole("heading", { name: "Users" }).waitFor();
  assert.equal((await api("POST", `/v1/orgs/${org}/members/${admin}/deactivate`, undefined, owner)).status, 200);
  await page.goto(base + "/ui/users");
  await page.getByText("Your session has ended").waitFor();
  await page.context().close();
});

test("the audit log and invitations pages show what happened and are accessible", async () => {
  const { org, owner } = await newOrg();
  await api("POST", `/v1/orgs/${org}/invitations`, { emails: ["later@coach.test"], role: "admin" }, owner);
  const page = await signedIn(org, owner);
  await page.goto(base + "/ui/invitations");
  await page.getByRole("cell", { name: "later@coach.test", exact: true }).waitFor();
  await axe(page, "invitations");
  await shot(page, "invitations");
  await page.getByRole("button", { name: "Resend to later@coach.test" }).click();
  await page.getByText("Invitation sent again").waitFor();
  // Revoking asks first; Escape backs out of the dialog without revoking.
  await page.getByRole("link", { name: "Revoke the invitation to later@coach.test" }).click();
  await page.getByRole("dialog").waitFor();
  await page.keyboard.press("Escape");
  await page.waitForURL(/\/ui\/invitations$/);
  assert.equal((await api("GET", `/v1/orgs/${org}/invitations?status=pending`)).body.items.length, 1);
  await page.getByRole("link", { name: "Revoke the invitation to later@coach.test" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Revoke invitation" }).click();
  await page.getByText("Invitation revoked").waitFor();
  assert.equal((await api("GET", `/v1/orgs/${org}/invitations?status=revoked`)).body.items.length, 1);
  await page.goto(base + "/ui/audit");
  await page.getByText(/Chain verified: \d+ entries/).waitFor();
  await axe(page, "audit");
  await shot(page, "audit");
  const exported = await page.request.get(base + "/ui/audit/export?format=csv");
  assert.equal(exported.status(), 200);
  assert.match(await exported.text(), /^seq,id,at,/);
  // Signing out ends the session: the page sends you to sign in again.
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL(/\/ui\/sign-in/);
  await page.goto(base + "/ui/users");
  await page.getByText("Your session has ended").waitFor();
  await page.context().close();
});

test("the platform page lists Forever assignments and saves allowlists", async () => {
  const { org, owner } = await newOrg();
  await api("PUT", `/v1/orgs/${org}/implementation-admin-domains`, { domains: ["upcoach.com"] });
  await api("PUT", `/v1/orgs/${org}/settings/implementation-admin`, { enabled: true }, owner);
  await addMember(org, owner, "longterm@upcoach.com", "implementation_admin", [], "forever");
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(base + "/ui/platform");
  await page.getByLabel("Platform key").fill(KEY);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("cell", { name: "longterm@upcoach.com", exact: true }).waitFor();
  await axe(page, "platform");
  await page.getByLabel("Organization id").fill(org);
  await page.getByLabel("Allowed domains").fill("upcoach.com\n*.partner.io");
  await page.getByRole("button", { name: "Save allowlist" }).click();
  await page.getByText("Allowlist saved").waitFor();
  const domains = await api("GET", `/v1/orgs/${org}/implementation-admin-domains`);
  assert.deepEqual(domains.body.domains.sort(), ["*.partner.io", "upcoach.com"]);
  await page.getByRole("button", { name: "Record review of longterm@upcoach.com" }).click();
  await page.getByText("Review recorded").waitFor();
  await shot(page, "platform");
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL(/\/ui\/platform\/sign-in/);
  await page.goto(base + "/ui/platform");
  await page.waitForURL(/\/ui\/platform\/sign-in/);
  await context.close();
});

test("a program admin runs their program's members but sees no organization pages", async () => {
  const { org, owner } = await newOrg();
  const mine = (await api("POST", `/v1/orgs/${org}/spaces`, { name: "Mine" }, owner)).body.id;
  const other = (await api("POST", `/v1/orgs/${org}/spaces`, { name: "Other" }, owner)).body.id;
  const pa = await addMember(org, owner, "pa@coach.test", "program_admin", [mine]);
  const page = await signedIn(org, pa);
  await page.goto(base + "/ui");
  await page.waitForURL(/\/ui\/spaces$/);
  const nav = page.getByRole("navigation", { name: "Admin Area" });
  assert.equal(await nav.getByRole("link", { name: "Users" }).count(), 0);
  assert.equal(await page.getByRole("link", { name: "Other" }).count(), 0, "only their program");
  await page.getByRole("link", { name: "Mine" }).click();
  const invite = page.getByRole("region", { name: "Invite people to this program" });
  await invite.getByLabel("Email addresses").fill("newcomer@coach.test");
  await invite.getByLabel("Role").selectOption("participant");
  await invite.getByRole("button", { name: "Send Invitations" }).click();
  await page.getByText("Invitations sent").waitFor();
  await axe(page, "program admin program page");
  const listed = await api("GET", `/v1/orgs/${org}/invitations?status=pending`);
  assert.deepEqual(listed.body.items.map((i) => [i.email, i.role, i.space_ids]), [["newcomer@coach.test", "participant", [mine]]]);
  const res = await page.goto(`${base}/ui/spaces/${other}`);
  assert.equal(res.status(), 403);
  await page.context().close();
});

test("the Integrations page adds an endpoint, shows its secret once, and retries its deliveries", async () => {
  const receiver = await startReceiver([503]);
  const { org, owner } = await newOrg();
  const page = await signedIn(org, owner);
  await page.goto(base + "/ui/integrations");
  await page.getByText("No endpoints yet.").waitFor();
  await axe(page, "integrations (empty)");
  await page.getByLabel("URL").fill(receiver.url);
  await page.getByLabel("Event types (optional)").fill("space.created");
  await page.getByLabel("Description (optional)").fill("CRM sync");
  await page.getByRole("button", { name: "Add endpoint" }).click();
  const secret = (await page.locator("#secret").textContent()).trim();
  assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
  await page.goto(base + "/ui/integrations");
  assert.ok(!(await page.content()).includes(secret), "the secret is shown once");
  const endpoint = page.getByRole("region", { name: `Endpoint ${receiver.url}` });
  await endpoint.getByText("space.created · CRM sync").waitFor();

  // The first attempt fails: the page shows it pending with the answer.
  await api("POST", `/v1/orgs/${org}/spaces`, { name: "Leadership" }, owner);
  const [first] = await receiver.until(1);
  assert.ok(verified(secret, first), "signed with the secret shown");
  assert.equal(JSON.parse(first.body).type, "space.created");
  await page.reload();
  const row = endpoint.locator("tr[data-delivery]");
  assert.equal(await row.locator("td.status").textContent(), "pending");
  await row.getByText("503").waitFor();

  // Due 5 s later: delivered.
  await api("POST", "/v1/dev/clock", { advance_seconds: 5 });
  await api("POST", "/v1/dev/sweep", {});
  await receiver.until(2);
  await page.reload();
  assert.equal(await row.locator("td.status").textContent(), "delivered");
  await axe(page, "integrations (deliveries)");
  await shot(page, "integrations");

  // Retried by hand: the same webhook-id again.
  await row.getByRole("button", { name: /^Retry delivery / }).click();
  await page.getByText("Delivery queued again").waitFor();
  const got = await receiver.until(3);
  assert.equal(new Set(got.map((r) => r.headers["webhook-id"])).size, 1);

  await endpoint.getByRole("button", { name: `Disable ${receiver.url}` }).click();
  await page.getByText("Endpoint disabled").waitFor();
  const listed = await api("GET", `/v1/orgs/${org}/webhooks`, undefined, owner);
  assert.deepEqual(listed.body.items.map((w) => [w.url, w.enabled]), [[receiver.url, false]]);
  await page.context().close();
  receiver.server.close();
});

test("people without integrations.manage do not get the Integrations page", async () => {
  const { org, owner } = await newOrg();
  const space = (await api("POST", `/v1/orgs/${org}/spaces`, { name: "P" }, owner)).body.id;
  const participant = await addMember(org, owner, "learner@coach.test", "participant", [space]);
  const page = await signedIn(org, participant);
  const res = await page.goto(base + "/ui/integrations");
  assert.equal(res.status(), 403);
  await page.getByText("Your role does not include this page.").waitFor();
  await page.context().close();
});
