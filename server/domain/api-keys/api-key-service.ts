/**
 * API keys: `sk_` + 32 random bytes (base64url). Only the SHA-256 hash and a visible prefix are
 * stored; the secret is shown once. Rotation issues a new secret and keeps the previous hash valid
 * for a grace period (24 h), so a team can roll its backends without downtime; a second rotation
 * within the grace ends the first one's grace early. Revocation takes effect at once.
 */
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { Op } from "sequelize";
import type { Database } from "../../../db/index.ts";
import type { ApiKey } from "../../../db/models/index.ts";
import { NotFoundError } from "../../errors.ts";
import type { Clock } from "../clock.ts";
import { isId } from "../orgs/org-service.ts";

export const API_KEY_GRACE_MS = 24 * 3600 * 1000;
const PREFIX_LENGTH = 12;
const LAST_USED_RESOLUTION_MS = 60_000;

export interface ApiKeyView {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  rotatedAt: string | null;
  previousExpiresAt: string | null;
  revokedAt: string | null;
}

/** What a valid secret identifies: the key, and the one organisation it acts for. */
export interface AuthenticatedApiKey {
  id: string;
  orgId: string;
}

export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

export function isApiKeySecret(value: string): boolean {
  return /^sk_[A-Za-z0-9_-]{43}$/.test(value);
}

function newSecret(): string {
  return `sk_${randomBytes(32).toString("base64url")}`;
}

export function toApiKeyView(key: ApiKey): ApiKeyView {
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    createdAt: key.createdAt.toISOString(),
    lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
    rotatedAt: key.rotatedAt?.toISOString() ?? null,
    previousExpiresAt: key.previousExpiresAt?.toISOString() ?? null,
    revokedAt: key.revokedAt?.toISOString() ?? null,
  };
}

export class ApiKeyService {
  private readonly db: Database;
  private readonly clock: Clock;
  /** Told when a key stops being valid, so caches of "is this key live" can drop it at once. */
  onRevoked: (id: string) => Promise<void> | void = () => {};

  constructor(db: Database, clock: Clock) {
    this.db = db;
    this.clock = clock;
  }

  async create(orgId: string, name: string, createdBy: string | null): Promise<ApiKeyView & { secret: string }> {
    const secret = newSecret();
    const key = await this.db.models.ApiKey.create({
      id: randomUUID(),
      orgId,
      name,
      prefix: secret.slice(0, PREFIX_LENGTH),
      secretHash: hashSecret(secret),
      createdBy,
    });
    return { ...toApiKeyView(key), secret };
  }

  async list(orgId: string): Promise<ApiKeyView[]> {
    const keys = await this.db.models.ApiKey.findAll({ where: { orgId }, order: [["createdAt", "ASC"], ["id", "ASC"]] });
    return keys.map(toApiKeyView);
  }

  private async findInOrg(orgId: string, id: string): Promise<ApiKey> {
    const key = isId(id) ? await this.db.models.ApiKey.findOne({ where: { id, orgId } }) : null;
    if (!key) throw new NotFoundError("API key not found", "api_key_not_found");
    return key;
  }

  async get(orgId: string, id: string): Promise<ApiKeyView> {
    return toApiKeyView(await this.findInOrg(orgId, id));
  }

  async revoke(orgId: string, id: string): Promise<ApiKeyView> {
    const key = await this.findInOrg(orgId, id);
    if (!key.revokedAt) await key.update({ revokedAt: this.clock(), previousSecretHash: null, previousExpiresAt: null });
    await this.onRevoked(key.id);
    return toApiKeyView(key);
  }

  async rotate(orgId: string, id: string): Promise<ApiKeyView & { secret: string }> {
    const key = await this.findInOrg(orgId, id);
    if (key.revokedAt) throw new NotFoundError("API key not found", "api_key_not_found");
    const secret = newSecret();
    const now = this.clock();
    await key.update({
      previousSecretHash: key.secretHash,
      previousExpiresAt: new Date(now.getTime() + API_KEY_GRACE_MS),
      secretHash: hashSecret(secret),
      prefix: secret.slice(0, PREFIX_LENGTH),
      rotatedAt: now,
    });
    return { ...toApiKeyView(key), secret };
  }

  /** The live key a secret belongs to: current secret, or previous one within its grace period. */
  async authenticate(secret: string): Promise<AuthenticatedApiKey | null> {
    if (!isApiKeySecret(secret)) return null;
    const hash = hashSecret(secret);
    const now = this.clock();
    const key = await this.db.models.ApiKey.findOne({
      where: {
        revokedAt: null,
        [Op.or]: [{ secretHash: hash }, { previousSecretHash: hash, previousExpiresAt: { [Op.gt]: now } }],
      },
    });
    if (!key) return null;
    if (!key.lastUsedAt || now.getTime() - key.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
      // Best effort bookkeeping; a failure here must not fail the request.
      void key.update({ lastUsedAt: now }).catch(() => undefined);
    }
    return { id: key.id, orgId: key.orgId };
  }

  /** Whether a key still exists and is not revoked (tokens it minted stay valid while it is). */
  async isActive(id: string, orgId: string): Promise<boolean> {
    if (!isId(id)) return false;
    const key = await this.db.models.ApiKey.findOne({ where: { id, orgId }, attributes: ["id", "revokedAt"] });
    return !!key && !key.revokedAt;
  }
}
