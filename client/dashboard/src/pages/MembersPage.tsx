/**
 * Members and invitations. Role changes, removal, inviting and withdrawing are offered only to the
 * roles the policy lets do them (policy.ts), and only on the roles they may touch: an Admin sees
 * no control on an Owner. The server checks every one of them again.
 */
import { useState } from "react";
import { del, get, patch, post, type Invitation, type Member, type Role } from "../api.ts";
import { manageableRoles } from "../policy.ts";
import { useSession } from "../session.tsx";
import { ConfirmButton, ErrorNotice, Field, Form, formatDate, LoadState, Notice, PageTitle, SelectField, useAction, useLoad } from "../ui.tsx";
import { useOrg } from "./OrgLayout.tsx";

export function MembersPage() {
  const { org } = useOrg();
  const { user } = useSession();
  const base = `/organizations/${org.id}`;
  const members = useLoad(() => get<{ data: Member[] }>(`${base}/members`), [org.id]);
  const roles = manageableRoles(org.role);
  const manage = roles.length > 0;
  const invitations = useLoad(async () => (manage ? (await get<{ data: Invitation[] }>(`${base}/invitations`)).data : []), [org.id, manage]);
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("member");
  const [invited, setInvited] = useState<string | null>(null);
  const [changeError, setChangeError] = useState<unknown>(null);
  const invite = useAction(async () => {
    await post(`${base}/members`, { email, role });
    setInvited(email);
    setEmail("");
    invitations.reload();
  });
  const changeRole = async (member: Member, next: Role) => {
    setChangeError(null);
    try {
      await patch(`${base}/members/${member.user_id}`, { role: next });
    } catch (error) {
      setChangeError(error);
    }
    members.reload();
  };
  const remove = async (member: Member) => {
    await del(`${base}/members/${member.user_id}`);
    members.reload();
  };
  const withdraw = async (invitation: Invitation) => {
    await del(`${base}/invitations/${invitation.id}`);
    invitations.reload();
  };
  return (
    <>
      <PageTitle>Members</PageTitle>
      {manage && (
        <section className="card">
          <h2>Invite someone</h2>
          <Form onSubmit={invite.run} className="inline-form">
            <Field label="Email" type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
            <RoleSelect label="Role" roles={roles} value={role} onChange={setRole} />
            <button type="submit" disabled={invite.busy}>
              Send invitation
            </button>
          </Form>
          {invited && <Notice kind="success">An invitation is on its way to {invited}. It works for 7 days.</Notice>}
          <ErrorNotice error={invite.error} />
        </section>
      )}
      <ErrorNotice error={changeError} />
      <LoadState loaded={members}>
        {({ data }) => (
          <div className="table-wrap">
            <table>
              <caption className="visually-hidden">Members</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Email</th>
                  <th scope="col">Role</th>
                  <th scope="col">Joined</th>
                  {manage && <th scope="col">Actions</th>}
                </tr>
              </thead>
              <tbody>
                {data.map((member) => {
                  const touchable = manage && roles.includes(member.role);
                  return (
                    <tr key={member.user_id}>
                      <td>
                        {member.name}
                        {member.user_id === user?.id && <span className="muted"> (you)</span>}
                      </td>
                      <td>{member.email}</td>
                      <td>
                        {touchable ? (
                          <RoleSelect label={`Role of ${member.name}`} hideLabel roles={roles} value={member.role} onChange={(next) => changeRole(member, next)} />
                        ) : (
                          member.role
                        )}
                      </td>
                      <td>{formatDate(member.joined_at)}</td>
                      {manage && (
                        <td>
                          {touchable && (
                            <ConfirmButton label="Remove" title={`Remove ${member.name} (${member.email}) from ${org.name}?`} onConfirm={() => remove(member)} />
                          )}
                        </td>
                      )}
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </LoadState>
      {manage && (
        <section className="card">
          <h2>Pending invitations</h2>
          <LoadState loaded={invitations}>
            {(list) =>
              list.length === 0 ? (
                <p className="muted">No pending invitations.</p>
              ) : (
                <ul className="plain">
                  {list.map((invitation) => (
                    <li key={invitation.id} className="row">
                      <span>
                        {invitation.email} as <strong>{invitation.role}</strong> · expires {formatDate(invitation.expires_at)}
                      </span>
                      {roles.includes(invitation.role) && (
                        <ConfirmButton className="secondary" label="Withdraw" title={`Withdraw the invitation to ${invitation.email}?`} onConfirm={() => withdraw(invitation)} />
                      )}
                    </li>
                  ))}
                </ul>
              )
            }
          </LoadState>
        </section>
      )}
    </>
  );
}

function RoleSelect(props: { label: string; hideLabel?: boolean; roles: Role[]; value: Role; onChange(role: Role): void }) {
  return (
    <SelectField
      label={props.label}
      hideLabel={props.hideLabel}
      value={props.value}
      onChange={(e) => props.onChange(e.target.value as Role)}
      options={props.roles.map((r) => [r, r])}
    />
  );
}
