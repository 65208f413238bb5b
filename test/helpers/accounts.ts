/**
 * Helpers for the accounts tests: a real local SMTP server that captures mail, a small JSON client
 * with a cookie jar (sessions) or a bearer API key, and the sign-up flow a new team follows.
 */
import { SMTPServer } from "smtp-server";
import type { AddressInfo } from "node:net";
import { waitFor } from "./clients.ts";

export interface CapturedMail {
  to: string[];
  subject: string;
  text: string;
}

export interface Mailbox {
  smtpUrl: string;
  messages: CapturedMail[];
  /** Wait for a message to `to` whose subject matches; returns it. */
  waitForMail(to: string, subject: RegExp, timeoutMs?: number): Promise<CapturedMail>;
  /** The messages to `to` whose subject matches, in arrival order. */
  mailsTo(to: string, subject?: RegExp): CapturedMail[];
  /** Resolve once no message has arrived for `quietMs` (mail sent after an answer has landed). */
  settle(quietMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Decode the quoted-printable transfer encoding nodemailer uses for long lines. */
function decodeQuotedPrintable(text: string): string {
  return text.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** A local SMTP server; `delayMs` holds each message's final answer, as a slow mail server would. */
export async function startMailbox(options: { delayMs?: number } = {}): Promise<Mailbox> {
  const messages: CapturedMail[] = [];
  let lastActivity = Date.now();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onConnect(_session, callback) {
      lastActivity = Date.now();
      callback();
    },
    onData(stream, session, callback) {
      let raw = "";
      stream.on("data", (chunk: Buffer) => (raw += chunk.toString("utf8")));
      stream.on("end", async () => {
        lastActivity = Date.now();
        if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
        const split = raw.indexOf("\r\n\r\n");
        const headers = raw.slice(0, split);
        const body = raw.slice(split + 4);
        const subject = /^Subject: (.*)$/im.exec(headers)?.[1]?.trim() ?? "";
        const qp = /Content-Transfer-Encoding: quoted-printable/i.test(headers);
        messages.push({
          to: session.envelope.rcptTo.map((r) => r.address),
          subject,
          text: qp ? decodeQuotedPrintable(body) : body,
        });
        lastActivity = Date.now();
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.server.address() as AddressInfo).port;
  return {
    smtpUrl: `smtp://127.0.0.1:${port}`,
    messages,
    async waitForMail(to, subject, timeoutMs = 5000) {
      const find = () => messages.find((m) => m.to.includes(to) && subject.test(m.subject));
      await waitFor(() => find() !== undefined, timeoutMs, `mail to ${to}`);
      return find()!;
    },
    mailsTo: (to, subject = /./) => messages.filter((m) => m.to.includes(to) && subject.test(m.subject)),
    async settle(quietMs = 500) {
      while (Date.now() - lastActivity < quietMs) await new Promise((r) => setTimeout(r, 50));
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The token in a link of a captured mail (…?token=XYZ). */
export function tokenFromMail(mail: CapturedMail): string {
  const match = /[?&]token=([A-Za-z0-9_-]+)/.exec(mail.text);
  if (!match) throw new Error(`no token link in mail: ${mail.text}`);
  return match[1]!;
}

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** A JSON client for /api that keeps its session cookie, or sends a bearer API key. */
export class ApiClient {
  readonly baseUrl: string;
  private cookie: string | null = null;
  bearer: string | null;

  constructor(baseUrl: string, bearer: string | null = null) {
    this.baseUrl = baseUrl;
    this.bearer = bearer;
  }

  async request<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
    const h: Record<string, string> = { ...headers };
    if (body !== undefined && !("content-type" in h)) h["content-type"] = "application/json";
    if (this.cookie) h.cookie = this.cookie;
    if (this.bearer) h.authorization = `Bearer ${this.bearer}`;
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: h,
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const setCookie = response.headers.getSetCookie();
    for (const c of setCookie) {
      const pair = c.split(";")[0]!;
      if (pair.startsWith("syncforge.sid=")) this.cookie = pair;
    }
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON
    }
    return { status: response.status, body: parsed as T, headers: response.headers };
  }

  get<T = any>(path: string) {
    return this.request<T>("GET", path);
  }
  post<T = any>(path: string, body: unknown = {}) {
    return this.request<T>("POST", path, body);
  }
  patch<T = any>(path: string, body: unknown) {
    return this.request<T>("PATCH", path, body);
  }
  delete<T = any>(path: string) {
    return this.request<T>("DELETE", path);
  }

  get sessionCookie(): string | null {
    return this.cookie;
  }
}

let counter = 0;

/** Register, verify the email from the received mail, and log in; returns a signed-in client. */
export async function signUp(
  httpUrl: string,
  mailbox: Mailbox,
  options: { email?: string; password?: string; name?: string } = {},
): Promise<{ client: ApiClient; user: { id: string; email: string; name: string }; password: string }> {
  const email = options.email ?? `user${++counter}-${Date.now()}@example.test`;
  const password = options.password ?? "correct horse battery";
  const name = options.name ?? email.split("@")[0]!;
  const client = new ApiClient(`${httpUrl}/api`);
  const registered = await client.post("/auth/register", { email, password, name });
  if (registered.status !== 202) throw new Error(`register failed: ${JSON.stringify(registered.body)}`);
  const mail = await mailbox.waitForMail(email, /verify/i);
  const verified = await client.post("/auth/verify-email", { token: tokenFromMail(mail) });
  if (verified.status !== 200) throw new Error(`verify failed: ${JSON.stringify(verified.body)}`);
  const login = await client.post("/auth/login", { email, password });
  if (login.status !== 200) throw new Error(`login failed: ${JSON.stringify(login.body)}`);
  return { client, user: login.body.user, password };
}

export interface TeamMember {
  client: ApiClient;
  user: { id: string; email: string; name: string };
}

export interface Team {
  orgId: string;
  owner: TeamMember;
  admin: TeamMember;
  member: TeamMember;
  viewer: TeamMember;
  apiKey: { id: string; secret: string; client: ApiClient };
}

/** Add a signed-in account to an organisation the only way there is: invite its email, accept the mailed link. */
export async function joinByInvitation(inviter: ApiClient, invitee: ApiClient, mailbox: Mailbox, orgId: string, email: string, role: string): Promise<void> {
  // Mail goes to the address as stored: lower-cased.
  const to = email.toLowerCase();
  const sent = mailbox.mailsTo(to, /invit/i).length;
  const invited = await inviter.post(`/organizations/${orgId}/members`, { email, role });
  if (invited.status !== 202) throw new Error(`invite failed: ${JSON.stringify(invited.body)}`);
  await waitFor(() => mailbox.mailsTo(to, /invit/i).length > sent, 5000, `invitation mail to ${to}`);
  const accepted = await invitee.post("/invitations/accept", { token: tokenFromMail(mailbox.mailsTo(to, /invit/i).at(-1)!) });
  if (accepted.status !== 200) throw new Error(`accept failed: ${JSON.stringify(accepted.body)}`);
}

/** An organisation with one signed-in account per role and an API key. */
export async function createTeam(httpUrl: string, mailbox: Mailbox, name = "Acme"): Promise<Team> {
  const owner = await signUp(httpUrl, mailbox);
  const created = await owner.client.post("/organizations", { name });
  if (created.status !== 201) throw new Error(`create org failed: ${JSON.stringify(created.body)}`);
  const orgId: string = created.body.organization.id;
  const add = async (role: string): Promise<TeamMember> => {
    const account = await signUp(httpUrl, mailbox);
    await joinByInvitation(owner.client, account.client, mailbox, orgId, account.user.email, role);
    return { client: account.client, user: account.user };
  };
  const [admin, member, viewer] = [await add("admin"), await add("member"), await add("viewer")];
  const key = await owner.client.post(`/organizations/${orgId}/api-keys`, { name: "backend" });
  if (key.status !== 201) throw new Error(`create key failed: ${JSON.stringify(key.body)}`);
  return {
    orgId,
    owner: { client: owner.client, user: owner.user },
    admin,
    member,
    viewer,
    apiKey: { id: key.body.apiKey.id, secret: key.body.apiKey.secret, client: new ApiClient(`${httpUrl}/api`, key.body.apiKey.secret) },
  };
}

/** Wait for a raw socket to be closed; resolves its close code and reason. */
export async function closedWith(closed: Promise<{ code: number; reason: string }>, timeoutMs = 5000): Promise<{ code: number; reason: string }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("socket was not closed in time")), timeoutMs);
  });
  try {
    return await Promise.race([closed, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
