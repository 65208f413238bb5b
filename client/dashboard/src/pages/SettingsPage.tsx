/** Organisation settings: its name (Owners and Admins). */
import { useState } from "react";
import { patch } from "../api.ts";
import { can } from "../policy.ts";
import { ErrorNotice, Field, Form, Notice, PageTitle, useAction } from "../ui.tsx";
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
    </>
  );
}
