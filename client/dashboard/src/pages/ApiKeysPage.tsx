/**
 * API keys (Owners and Admins): create (the secret is shown once, with a copy button), list with
 * prefix and last use, revoke, and rotate, counting down the previous secret's grace period.
 */
import { useState } from "react";
import { del, get, post, type ApiKey } from "../api.ts";
import { can } from "../policy.ts";
import { ConfirmButton, ErrorNotice, Field, Form, formatDate, LoadState, Notice, PageTitle, useAction, useLoad, useNow } from "../ui.tsx";
import { useOrg } from "./OrgLayout.tsx";

export function ApiKeysPage() {
  const { org } = useOrg();
  const base = `/organizations/${org.id}/api-keys`;
  const keys = useLoad(() => get<{ data: ApiKey[] }>(base), [org.id]);
  const [name, setName] = useState("");
  const [secret, setSecret] = useState<{ name: string; secret: string } | null>(null);
  const manage = can(org.role, "api_keys:manage");
  const create = useAction(async () => {
    const { apiKey } = await post<{ apiKey: ApiKey }>(base, { name });
    setSecret({ name: apiKey.name, secret: apiKey.secret! });
    setName("");
    keys.reload();
  });
  const rotate = async (key: ApiKey) => {
    const { apiKey } = await post<{ apiKey: ApiKey }>(`${base}/${key.id}/rotate`);
    setSecret({ name: apiKey.name, secret: apiKey.secret! });
    keys.reload();
  };
  const revoke = async (key: ApiKey) => {
    await del(`${base}/${key.id}`);
    keys.reload();
  };
  return (
    <>
      <PageTitle>API keys</PageTitle>
      <p>Your backend uses a secret key to manage rooms and mint access tokens for your users. Keep it on the server.</p>
      {secret && <SecretOnce {...secret} onDone={() => setSecret(null)} />}
      {manage && (
        <section className="card">
          <h2>Create a key</h2>
          <Form onSubmit={create.run} className="inline-form">
            <Field label="Key name" required maxLength={128} placeholder="backend" value={name} onChange={(e) => setName(e.target.value)} />
            <button type="submit" disabled={create.busy}>
              Create key
            </button>
          </Form>
          <ErrorNotice error={create.error} />
        </section>
      )}
      <LoadState loaded={keys}>
        {({ data }) =>
          data.length === 0 ? (
            <p>No keys yet.</p>
          ) : (
            <div className="table-wrap">
              <table>
                <caption className="visually-hidden">API keys</caption>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Prefix</th>
                    <th scope="col">Created</th>
                    <th scope="col">Last used</th>
                    <th scope="col">Status</th>
                    {manage && <th scope="col">Actions</th>}
                  </tr>
                </thead>
                <tbody>
                  {data.map((key) => (
                    <tr key={key.id}>
                      <td>{key.name}</td>
                      <td>
                        <code>{key.prefix}…</code>
                      </td>
                      <td>{formatDate(key.createdAt)}</td>
                      <td>{key.lastUsedAt ? formatDate(key.lastUsedAt) : "never"}</td>
                      <td>
                        <KeyStatus apiKey={key} />
                      </td>
                      {manage && (
                        <td className="row">
                          {!key.revokedAt && (
                            <>
                              <ConfirmButton className="secondary" label="Rotate" title={`Rotate “${key.name}”? The current secret keeps working for 24 hours.`} onConfirm={() => rotate(key)} />
                              <ConfirmButton label="Revoke" title={`Revoke “${key.name}”? It stops working at once.`} expected={key.name} onConfirm={() => revoke(key)} />
                            </>
                          )}
                        </td>
                      )}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </LoadState>
    </>
  );
}

function KeyStatus({ apiKey }: { apiKey: ApiKey }) {
  const now = useNow(1000);
  if (apiKey.revokedAt) return <span className="badge muted">revoked</span>;
  const graceEnds = apiKey.previousExpiresAt ? Date.parse(apiKey.previousExpiresAt) : 0;
  if (graceEnds > now) {
    return (
      <span className="badge warning" title={`The previous secret works until ${formatDate(apiKey.previousExpiresAt)}`}>
        rotated · previous secret ends in {countdown(graceEnds - now)}
      </span>
    );
  }
  return <span className="badge success">active</span>;
}

/** 23:59:58 style. */
export function countdown(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
}

function SecretOnce({ name, secret, onDone }: { name: string; secret: string; onDone(): void }) {
  const [copied, setCopied] = useState<"yes" | "no" | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied("yes");
    } catch {
      setCopied("no");
    }
  };
  return (
    <Notice kind="warning">
      <p>
        The secret of <strong>{name}</strong>. It is shown only now: copy it into your backend's configuration.
      </p>
      <p className="row">
        <code className="secret" data-testid="api-key-secret">
          {secret}
        </code>
        <button type="button" onClick={copy}>
          Copy
        </button>
        <button type="button" className="secondary" onClick={onDone}>
          Done
        </button>
      </p>
      {copied === "yes" && <span role="status">Copied to the clipboard.</span>}
      {copied === "no" && <span role="status">The browser refused the clipboard: select the secret and copy it.</span>}
    </Notice>
  );
}
