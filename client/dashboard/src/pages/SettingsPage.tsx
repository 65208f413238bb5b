/** Organisation settings: its name (Owners and Admins), and deleting it (Owners, typing its name). */
import { useState } from "react";
import { del, patch } from "../api.ts";
import { navigate } from "../router.tsx";
import { can } from "../policy.ts";
import { ConfirmButton, ErrorNotice, Field, Form, Notice, PageTitle, useAction } from "../ui.tsx";
import { useOrg } from "./OrgLayout.tsx";

export function SettingsPage() {
  const { org, reload } = useOrg();
  const [name, setName] = useState(org.name);
  const [saved, setSaved] = useState(false);
  const editable = can(org.role, "org:update");
  const save = useAction(async () => {
    setSaved(false);
    await patch(`/organizations/${org.id}`, { name });
    setSaved(true);
    reload();
  });
  const remove = async () => {
    await del(`/organizations/${org.id}`);
    navigate("/");
  };
  return (
    <>
      <PageTitle>Settings</PageTitle>
      <section className="card">
        <h2>Organisation</h2>
        {editable ? (
          <Form onSubmit={save.run} className="inline-form">
            <Field label="Organisation name" required maxLength={128} value={name} onChange={(e) => setName(e.target.value)} />
            <button type="submit" disabled={save.busy}>
              Rename
            </button>
          </Form>
        ) : (
          <dl className="facts">
            <dt>Name</dt>
            <dd>{org.name}</dd>
          </dl>
        )}
        {saved && <Notice kind="success">Saved.</Notice>}
        <ErrorNotice error={save.error} />
        <dl className="facts">
          <dt>Organisation id</dt>
          <dd>
            <code>{org.id}</code>
          </dd>
          <dt>Your role</dt>
          <dd>{org.role}</dd>
          <dt>Plan</dt>
          <dd>{org.plan_type}</dd>
        </dl>
      </section>
      {can(org.role, "org:delete") && (
        <section className="card danger-zone">
          <h2>Delete the organisation</h2>
          <p>Its rooms and their documents, API keys, members and invitations are deleted; connected users are disconnected. This cannot be undone.</p>
          <ConfirmButton label="Delete organisation" title={`Delete ${org.name} for good?`} expected={org.name} onConfirm={remove} />
        </section>
      )}
    </>
  );
}
