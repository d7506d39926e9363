/**
 * Upload scheduling: batches by size and age, retries with backoff, pause on refused keys,
 * flushes, and `keepalive` uploads when the page is hidden.
 *
 * One batch is in flight at a time. Its request id and the last row it covers are saved in the
 * store *before* the first attempt, so a retry (on this page, or on the next one after a reload
 * in the middle of an upload) sends the same request id and the same rows: the server answers a
 * repeated request id with its first answer, and counts a repeated event id as a duplicate.
 */

import type { Logger } from "./log";
import { DeviceStore, KIND_EVENT } from "./store";
import type { Row } from "./store";
import {
  Transport,
  backoffDelayMs,
  errorCode,
  errorMessage,
  isPauseStatus,
  newRequestId,
  retryAfterMs,
} from "./transport";
import type { Reply } from "./transport";

/** The server takes at most this many events per request. */
const MAX_BATCH = 1000;

interface Inflight {
  requestId: string;
  maxSeq: number;
  dropped: number;
  body: string | null;
  seqs: number[];
}

interface FlushWaiter {
  targetSeq: number;
  resolve: (ok: boolean) => void;
}

export interface DeliveryOptions {
  batchSize: number;
  intervalMs: number;
  envelope: () => string;
  sessions: (maxSeq: number) => string;
  randomBytes: (n: number) => Uint8Array;
  log: Logger;
}

export class Delivery {
  paused = false;
  failures = 0;
  uploads = 0;
  private nextAttempt = 0;
  private oldestAt: number | null = null;
  private batchLimit: number;
  private inflight: Inflight | null = null;
  private flushes: FlushWaiter[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running = false;
  private stopped = false;
  /** Rows may be read (the store finished loading). */
  ready = false;

  constructor(
    private readonly store: DeviceStore,
    private readonly transport: Transport,
    private readonly o: DeliveryOptions,
  ) {
    this.batchLimit = o.batchSize;
  }

  /** The store has loaded: a batch left in flight by an earlier run goes first, then the rest. */
  start(): void {
    const saved = this.store.get("inflight");
    if (saved) {
      try {
        const data = JSON.parse(saved) as { requestId: string; maxSeq: number; dropped: number };
        this.inflight = { ...data, body: null, seqs: [] };
      } catch {
        this.store.put("inflight", null);
      }
    }
    this.ready = true;
    if (this.store.rows.length) this.oldestAt = Date.now() - this.o.intervalMs;
    this.kick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    for (const f of this.flushes) f.resolve(false);
    this.flushes = [];
  }

  /** Rows were queued: wake only on the first one and on a full batch (not per event). */
  appended(n: number): void {
    if (this.oldestAt === null) {
      this.oldestAt = Date.now();
      this.kick();
      return;
    }
    const pending = this.store.rows.length;
    if (pending - n < this.o.batchSize && this.o.batchSize <= pending) this.kick();
  }

  /** Milliseconds until an upload is due (0: now), null when nothing is waiting. */
  waitMs(now: number): number | null {
    if (this.flushes.length) return 0;
    const pending = this.store.rows.length;
    if (this.paused || !this.ready || (pending === 0 && this.inflight === null)) return null;
    let due = Math.max(this.nextAttempt, (this.oldestAt ?? now) + this.o.intervalMs);
    if (pending >= this.o.batchSize || this.inflight !== null) due = this.nextAttempt;
    return Math.max(0, due - now);
  }

  /** Re-plan the timer (and upload at once when due). */
  kick(): void {
    if (this.stopped || this.running) return;
    const wait = this.waitMs(Date.now());
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (wait === null) return;
    this.timer = setTimeout(() => void this.run(), wait);
  }

  /** The page is being hidden: send what is queued now, with `keepalive`. */
  pageHidden(): void {
    if (this.stopped || this.paused || !this.ready) return;
    this.nextAttempt = 0;
    if (!this.running) void this.run(true);
  }

  /** Leave the paused state for one more attempt (the app says keys may work now). */
  resume(): void {
    this.paused = false;
    this.nextAttempt = 0;
    this.kick();
  }

  /** Upload everything queued now; true when all of it was accepted. */
  flush(): Promise<boolean> {
    const newest = this.store.rows[this.store.rows.length - 1];
    if (!newest && this.inflight === null) return Promise.resolve(true);
    this.paused = false;
    this.nextAttempt = 0;
    return new Promise((resolve) => {
      this.flushes.push({ targetSeq: newest ? newest.seq : 0, resolve });
      this.kick();
    });
  }

  private async run(keepalive = false): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    try {
      for (;;) {
        const wait = this.waitMs(Date.now());
        if (wait === null || (wait > 0 && !keepalive)) break;
        const attempted = [...this.flushes];
        const ok = await this.attempt(keepalive);
        keepalive = false;
        this.settleFlushes(attempted, ok);
        if (!ok) break;
      }
    } finally {
      this.running = false;
      this.kick();
    }
  }

  private settleFlushes(attempted: FlushWaiter[], ok: boolean): void {
    const oldest = this.store.rows[0];
    for (const waiter of attempted) {
      if (ok && oldest !== undefined && oldest.seq <= waiter.targetSeq) continue;
      waiter.resolve(ok);
      this.flushes.splice(this.flushes.indexOf(waiter), 1);
    }
  }

  private prepare(): Inflight | null {
    let inflight = this.inflight;
    if (inflight !== null && inflight.body !== null) return inflight;
    const upto = inflight?.maxSeq ?? Infinity;
    const rows: Row[] = [];
    const limit = this.limit();
    for (const row of this.store.rows) {
      if (row.seq > upto || rows.length >= limit) break;
      rows.push(row);
    }
    if (inflight === null) {
      if (!rows.length) {
        this.oldestAt = null;
        return null;
      }
      inflight = {
        requestId: newRequestId(this.o.randomBytes),
        maxSeq: (rows[rows.length - 1] as Row).seq,
        dropped: this.store.dropped,
        body: null,
        seqs: [],
      };
      this.store.put(
        "inflight",
        JSON.stringify({ requestId: inflight.requestId, maxSeq: inflight.maxSeq, dropped: inflight.dropped }),
      );
    }
    const events = rows.filter((r) => r.kind === KIND_EVENT).map((r) => r.body);
    const decisions = rows.filter((r) => r.kind !== KIND_EVENT).map((r) => r.body);
    const head = this.o.envelope();
    inflight.body =
      head.slice(0, -1) +
      `,"sessions":${this.o.sessions(inflight.maxSeq)},"dropped":${inflight.dropped}` +
      `,"events":[${events.join(",")}],"decisions":[${decisions.join(",")}]}`;
    inflight.seqs = rows.map((r) => r.seq);
    this.inflight = inflight;
    return inflight;
  }

  /**
   * Rows per request: the batch size, but a long backlog (a burst, or a return after an outage)
   * goes in larger requests, up to the server's 1,000 events, unless a 413 asked for less.
   */
  private limit(): number {
    if (this.batchLimit < this.o.batchSize) return this.batchLimit;
    return Math.min(MAX_BATCH, Math.max(this.batchLimit, Math.floor(this.store.rows.length / 4)));
  }

  /** Send the batch in flight (building it first); true when it was accepted. */
  private async attempt(keepalive: boolean): Promise<boolean> {
    const inflight = this.prepare();
    if (inflight === null) return true;
    let reply: Reply;
    try {
      reply = await this.transport.postSession(inflight.body as string, inflight.requestId, keepalive);
    } catch (exc) {
      return this.retry(`network error: ${String(exc)}`);
    }
    if (reply.status === 200) {
      this.accepted(inflight, reply);
      return true;
    }
    return this.refused(inflight, reply);
  }

  private accepted(inflight: Inflight, reply: Reply): void {
    this.store.remove(inflight.seqs);
    this.store.subtractDropped(inflight.dropped);
    this.store.put("inflight", null);
    this.inflight = null;
    this.oldestAt = this.store.rows.length ? Date.now() : null;
    this.failures = 0;
    this.nextAttempt = 0;
    this.batchLimit = this.o.batchSize;
    this.uploads++;
    if (this.paused) this.o.log.warn("network: uploads resumed");
    this.paused = false;
    const body = (reply.body ?? {}) as { rejected?: unknown[]; accepted?: number; duplicates?: number };
    for (const item of body.rejected ?? []) this.o.log.warn("network: the server rejected an item", item);
    this.o.log.debug(`network: uploaded ${inflight.seqs.length} items (accepted ${body.accepted}, duplicates ${body.duplicates})`);
  }

  private refused(inflight: Inflight, reply: Reply): boolean {
    if (reply.status === 409) {
      this.forgetInflight();
      return this.retry("request id refused (409); a new one will be used");
    }
    if (reply.status === 413) return this.tooLarge(inflight);
    if (isPauseStatus(reply.status)) {
      this.paused = true;
      this.o.log.error(
        `network: uploads PAUSED: the server refused the request with ${reply.status} ` +
          `${errorCode(reply) ?? ""} (${errorMessage(reply)}). Check appId, the key and the ` +
          "allowed origins; events stay on the device and are sent once flush() is called " +
          "or the app returns to the foreground.",
      );
      return false;
    }
    return this.retry(`server answered ${reply.status}`, retryAfterMs(reply));
  }

  private tooLarge(inflight: Inflight): boolean {
    if (inflight.seqs.length > 1) {
      this.batchLimit = Math.max(1, Math.floor(inflight.seqs.length / 2));
      this.forgetInflight();
      this.o.log.warn(`network: batch too large (413); retrying ${this.batchLimit} at a time`);
      return this.retry("batch too large", 0);
    }
    this.store.remove(inflight.seqs);
    this.store.addDropped(1);
    this.store.put("inflight", null);
    this.inflight = null;
    this.o.log.error("network: an event is larger than the server accepts; it was dropped");
    return true;
  }

  private forgetInflight(): void {
    this.store.put("inflight", null);
    this.inflight = null;
  }

  private retry(why: string, delayMs: number | null = null): boolean {
    this.failures++;
    const wait = delayMs ?? backoffDelayMs(this.failures);
    this.nextAttempt = Date.now() + wait;
    this.o.log.warn(`network: upload failed (${why}); retry ${this.failures} in ${(wait / 1000).toFixed(1)}s`);
    return false;
  }
}
