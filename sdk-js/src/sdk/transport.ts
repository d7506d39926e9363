/**
 * The network side: server clock, uploads, config fetches and the retry policy.
 *
 * Two ways to authenticate, as the server offers them:
 * - public client (browsers, React Native): the app's publishable key in the query string and
 *   no secret; the server checks the page's origin against the app's allow-list. Uploads are
 *   CORS "simple" requests (`text/plain` body, no custom headers), so they need no preflight and
 *   can be sent with `keepalive` while the page is being hidden or closed.
 * - signed (a Node service that can keep a secret): `POST /api/v1/session` signed with HMAC.
 */

export const SESSION_PATH = "/api/v1/session";
export const CONFIG_PATH = "/api/v1/config";
export const PUBLIC_SESSION_PATH = "/api/v1/public/session";
export const PUBLIC_CONFIG_PATH = "/api/v1/public/config";
/** Browsers refuse `keepalive` bodies above 64 KB; a little is left for the headers. */
export const KEEPALIVE_MAX_BYTES = 60_000;

const BACKOFF_BASE_MS = 1000;
const BACKOFF_CAP_MS = 300_000;

/** Device time plus an offset to the server's clock, learned from every response. */
export class Clock {
  synced = false;
  constructor(public offsetMs = 0) {}

  nowMs(): number {
    return Date.now() + this.offsetMs;
  }

  /** The server stamped its time mid-request: offset = server - (sent + received) / 2. */
  observe(sentMs: number, receivedMs: number, serverMs: number): void {
    this.offsetMs = serverMs - Math.floor((sentMs + receivedMs) / 2);
    this.synced = true;
  }
}

/** Exponential backoff with equal jitter: half the step fixed, half random. */
export function backoffDelayMs(attempt: number, random: () => number = Math.random): number {
  const step = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempt - 1));
  return step / 2 + (random() * step) / 2;
}

/** A response reduced to what the client acts on. */
export interface Reply {
  status: number;
  /** The body as JSON.parse reads it (null when empty or not JSON), and as sent. */
  body: unknown;
  text: string;
  headers: { get(name: string): string | null };
}

export function errorCode(reply: Reply): string | null {
  const err = (reply.body as { error?: { code?: unknown } } | null)?.error;
  return err && typeof err.code === "string" ? err.code : null;
}

export function errorMessage(reply: Reply): string {
  const err = (reply.body as { error?: { message?: unknown } } | null)?.error;
  return err && err.message !== undefined ? String(err.message) : "";
}

/** 4xx other than 409 (request id), 413 (too large: split) and 429 (slow down). */
export function isPauseStatus(status: number): boolean {
  return status >= 400 && status < 500 && status !== 409 && status !== 413 && status !== 429;
}

export function retryAfterMs(reply: Reply): number | null {
  const value = reply.headers.get("retry-after");
  if (value === null) return null;
  const seconds = Number(value);
  return Number.isFinite(seconds) ? Math.max(0, seconds * 1000) : null;
}

/** A UUID v4 (request ids; event ids are v7). */
export function newRequestId(randomBytes: (n: number) => Uint8Array): string {
  const b = randomBytes(16);
  b[6] = ((b[6] as number) & 0x0f) | 0x40;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export interface TransportOptions {
  appId: string;
  apiKeyPublic: string;
  apiKeySecret: string | null;
  backendUrl: string;
  configUrl: string;
  httpTimeoutMs: number;
  fetch: FetchLike;
}

const encoder = new TextEncoder();

function hex(bytes: ArrayBuffer): string {
  return Array.from(new Uint8Array(bytes), (x) => x.toString(16).padStart(2, "0")).join("");
}

export class Transport {
  constructor(
    readonly options: TransportOptions,
    readonly clock: Clock,
  ) {}

  get isPublic(): boolean {
    return this.options.apiKeySecret === null;
  }

  private async send(url: string, init: RequestInit): Promise<Reply> {
    const controller = typeof AbortController === "function" ? new AbortController() : null;
    const timer = controller ? setTimeout(() => controller.abort(), this.options.httpTimeoutMs) : null;
    const sent = Date.now();
    try {
      const response = await this.options.fetch(url, { ...init, signal: controller?.signal ?? null });
      const text = await response.text();
      let body: unknown = null;
      if (text) {
        try {
          body = JSON.parse(text);
        } catch {
          body = null;
        }
      }
      this.observe(sent, response, body);
      return { status: response.status, body, text, headers: response.headers };
    } finally {
      if (timer !== null) clearTimeout(timer);
    }
  }

  private observe(sent: number, response: Response, body: unknown): void {
    const received = Date.now();
    let server: unknown = (body as { serverTime?: unknown } | null)?.serverTime;
    if (typeof server !== "number") {
      const header = response.headers.get("x-server-time");
      server = header && /^[0-9]+$/.test(header) ? Number(header) : null;
    }
    if (typeof server === "number") this.clock.observe(sent, received, server);
  }

  /** One upload; the same `requestId` is sent again on retry. */
  async postSession(body: string, requestId: string, keepalive = false): Promise<Reply> {
    const o = this.options;
    if (this.isPublic) {
      const query = `?apiKey=${encodeURIComponent(o.apiKeyPublic)}&requestId=${requestId}`;
      return this.send(o.backendUrl + PUBLIC_SESSION_PATH + query, {
        method: "POST",
        body,
        headers: { "Content-Type": "text/plain;charset=UTF-8" },
        keepalive: keepalive && encoder.encode(body).length <= KEEPALIVE_MAX_BYTES,
        credentials: "omit",
      });
    }
    const path = new URL(o.backendUrl).pathname.replace(/\/$/, "") + SESSION_PATH;
    const timestamp = String(Math.floor(this.clock.nowMs() / 1000));
    const signature = await sign(o.apiKeySecret as string, "POST" + path, body, timestamp);
    return this.send(o.backendUrl + SESSION_PATH, {
      method: "POST",
      body,
      headers: {
        "Content-Type": "application/json",
        "X-Api-Key": o.apiKeyPublic,
        "X-Timestamp": timestamp,
        "X-Request-Id": requestId,
        "X-Signature": signature,
      },
      keepalive,
    });
  }

  getConfig(etag: string | null, deviceId: string, userId: string | null): Promise<Reply> {
    const o = this.options;
    const params = new URLSearchParams();
    if (this.isPublic) params.set("apiKey", o.apiKeyPublic);
    params.set("deviceId", deviceId);
    if (userId) params.set("userId", userId);
    const headers: Record<string, string> = {};
    if (!this.isPublic) headers["X-Api-Key"] = o.apiKeyPublic;
    if (etag) headers["If-None-Match"] = etag;
    const path = this.isPublic ? PUBLIC_CONFIG_PATH : CONFIG_PATH;
    return this.send(`${o.configUrl}${path}?${params.toString()}`, {
      method: "GET",
      headers,
      credentials: "omit",
      cache: "no-store",
    });
  }
}

/** Hex HMAC-SHA256 over `METHOD + PATH + BODY + TIMESTAMP` with Web Crypto (Node 18+, browsers). */
async function sign(secret: string, methodAndPath: string, body: string, timestamp: string): Promise<string> {
  const subtle = (globalThis as { crypto?: Crypto }).crypto?.subtle;
  if (!subtle) throw new Error("signed uploads need Web Crypto (crypto.subtle)");
  const key = await subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return hex(await subtle.sign("HMAC", key, encoder.encode(methodAndPath + body + timestamp)));
}
