/** The organisations the signed-in account belongs to, and creating one. */
import { useState } from "react";
import { get, post, type Organization } from "../api.ts";
import { Link, navigate } from "../router.tsx";
import { ErrorNotice, Field, Form, LoadState, PageTitle, useAction, useLoad } from "../ui.tsx";
import { Shell } from "./Shell.tsx";

export function OrgListPage() {
  const orgs = useLoad(() => get<{ data: Organization[] }>("/organizations"), []);
  const [name, setName] = useState("");
  const create = useAction(async () => {
    const { organization } = await post<{ organization: Organization }>("/organizations", { name });
    navigate(`/organizations/${organization.id}`);
  });
  return (
    <Shell>
      <PageTitle>Organisations</PageTitle>
      <LoadState loaded={orgs}>
        {({ data }) =>
          data.length === 0 ? (
            <p>You are not in an organisation yet. Create one, or open an invitation link.</p>
          ) : (
            <ul className="cards">
              {data.map((org) => (
                <li key={org.id} className="card">
                  <Link to={`/organizations/${org.id}`}>
                    <strong>{org.name}</strong>
                  </Link>
                  <p className="muted">
                    {org.role} · {org.plan_type} plan
                  </p>
                </li>
              ))}
            </ul>
          )
        }
      </LoadState>
      <section className="card">
        <h2>Create an organisation</h2>
        <Form onSubmit={create.run} className="inline-form">
          <Field label="Organisation name" required maxLength={128} value={name} onChange={(e) => setName(e.target.value)} />
          <button type="submit" disabled={create.busy}>
            Create organisation
          </button>
        </Form>
        <ErrorNotice error={create.error} />
      </section>
    </Shell>
  );
}
