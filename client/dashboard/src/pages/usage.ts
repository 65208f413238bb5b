/**
 * The usage and billing answers (GET …/usage, GET …/billing) as the billing area defines them,
 * and loading them so that a server without that area (404) reads as "not available".
 */
import { get, isNotFound } from "../api.ts";

export interface UsageCounts {
  monthly_active_users: number;
  rooms: number;
  connections: number;
  peak_connections: number;
  storage_bytes: number;
  comments: number;
  notifications: number;
  messages: number;
}

export interface UsagePoint {
  at: string;
  /** Distinct users of the day: by day only (null by hour, as users are counted per day). */
  active_users: number | null;
  monthly_active_users: number | null;
  peak_connections: number;
  active_rooms: number;
  messages: number;
  comments: number;
  notifications: number;
}

export interface Usage {
  period: { start: string; end: string };
  plan: { id: string; name: string };
  billing_enabled: boolean;
  limits: { monthly_active_users: number | null; rooms: number | null };
  current: UsageCounts;
  series: UsagePoint[];
}

export const RANGES = [
  { id: "hour", label: "Last hour", ms: 3600_000, granularity: "hour" },
  { id: "day", label: "Last day", ms: 86_400_000, granularity: "hour" },
  { id: "week", label: "Last 7 days", ms: 7 * 86_400_000, granularity: "day" },
  { id: "month", label: "Last 30 days", ms: 30 * 86_400_000, granularity: "day" },
] as const;

export type RangeId = (typeof RANGES)[number]["id"];

/** The org's usage over `range`, or null when this server has no usage endpoint. */
export async function loadUsage(orgId: string, range: RangeId = "day"): Promise<Usage | null> {
  const spec = RANGES.find((r) => r.id === range)!;
  const to = new Date();
  const from = new Date(to.getTime() - spec.ms);
  const query = new URLSearchParams({ granularity: spec.granularity, from: from.toISOString(), to: to.toISOString() });
  try {
    return await get<Usage>(`/organizations/${orgId}/usage?${query}`);
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}

/** A limit's share used, 0–1 (0 when there is no limit). */
export function shareOf(used: number, limit: number | null | undefined): number {
  return limit ? Math.min(1, used / limit) : 0;
}

export function formatBytes(bytes: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}
