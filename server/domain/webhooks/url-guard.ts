/**
 * Server-side request forgery guard for webhook URLs. An endpoint URL is chosen by a tenant, and
 * the server posts to it from inside the operator's network: without a check, `http://10.0.0.5/`
 * or `http://169.254.169.254/` (cloud metadata) would let a tenant probe and call internal services.
 *
 * Checked twice: when the endpoint is saved (a clear 400 for an IP literal or a name resolving to
 * a private address) and on every delivery, inside the socket's DNS lookup (`lookupPublic`), so the
 * address connected to is the address checked — a name that resolves publicly at creation and to
 * 127.0.0.1 later (DNS rebinding) is refused at delivery. WEBHOOK_ALLOW_PRIVATE=1 lifts the check
 * (tests, or a self-hosted setup posting to its own network on purpose).
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from "node:dns";
import { isIP, BlockList } from "node:net";
import { BadRequestError } from "../../errors.ts";

const blocked = new BlockList();
for (const [net, prefix] of [
  ["0.0.0.0", 8], // "this network"
  ["10.0.0.0", 8],
  ["100.64.0.0", 10], // carrier-grade NAT
  ["127.0.0.0", 8],
  ["169.254.0.0", 16], // link-local, cloud metadata
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15], // benchmarking
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, broadcast
] as const) {
  blocked.addSubnet(net, prefix, "ipv4");
}
for (const [net, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7], // unique local
  ["fe80::", 10], // link-local
  ["ff00::", 8], // multicast
  ["64:ff9b::", 96], // NAT64: may embed a private IPv4
] as const) {
  blocked.addSubnet(net, prefix, "ipv6");
}

/** Whether an IP address is loopback, private, link-local, unique-local or otherwise not public. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, "ipv4");
  if (family !== 6) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return blocked.check(mapped[1]!, "ipv4");
  return blocked.check(address, "ipv6");
}

/** Parse and check an endpoint URL's shape: http(s), a host, no credentials. */
export function parseEndpointUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new BadRequestError("The webhook URL is not a valid URL", "invalid_webhook_url");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new BadRequestError("The webhook URL must be http or https", "invalid_webhook_url");
  if (url.username || url.password) throw new BadRequestError("The webhook URL must not carry credentials", "invalid_webhook_url");
  if (!url.hostname) throw new BadRequestError("The webhook URL has no host", "invalid_webhook_url");
  return url;
}

function hostOf(url: URL): string {
  return url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
}

/** At creation and update: refuse a URL whose host is, or resolves to, a non-public address. */
export async function assertPublicUrl(url: URL, allowPrivate: boolean): Promise<void> {
  if (allowPrivate) return;
  const host = hostOf(url);
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      addresses = (await new Promise<LookupAddress[]>((resolve, reject) =>
        dnsLookup(host, { all: true }, (error, found) => (error ? reject(error) : resolve(found))),
      )).map((a) => a.address);
    } catch {
      throw new BadRequestError("The webhook URL's host does not resolve", "invalid_webhook_url");
    }
  }
  if (addresses.length === 0 || addresses.some(isPrivateAddress)) {
    throw new BadRequestError("The webhook URL points to a private, loopback or link-local address; set WEBHOOK_ALLOW_PRIVATE=1 to allow it", "private_webhook_url");
  }
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for http.request that refuses non-public addresses: the check runs on the address the
 * socket then connects to. With allowPrivate, the plain resolver.
 */
export function createGuardedLookup(allowPrivate: boolean) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    dnsLookup(hostname, { ...options, all: true }, (error, found: LookupAddress[]) => {
      if (error) return callback(error, []);
      const usable = allowPrivate ? found : found.filter((a) => !isPrivateAddress(a.address));
      if (usable.length === 0) {
        const refused = Object.assign(new Error(`Refused: ${hostname} resolves to a private address`), { code: "EPRIVATEADDRESS" });
        return callback(refused, []);
      }
      if (options.all) return callback(null, usable);
      callback(null, usable[0]!.address, usable[0]!.family);
    });
  };
}
