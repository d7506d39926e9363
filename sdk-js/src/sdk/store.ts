/**
 * The on-device store: small records (identity, device state, config, clock, the batch in
 * flight) and the bounded queue of rows (events and decisions) waiting for upload.
 *
 * With a synchronous store (`localStorage`), a committed row is written there before `commit`
 * returns, and moved into the asynchronous adapter (IndexedDB) in the background; the small
 * records live in the synchronous store. Without one (React Native), everything goes to the
 * adapter, written behind the caller in one batch per tick; `persisted()` says when it is done.
 * Keys are namespaced per app, so two apps on one origin never meet.
 */

import type { StorageAdapter, SyncStore } from "./storage";

export const KIND_EVENT = 0;
export const KIND_DECISION = 1;

/** One queued row: sequence number, kind, session id (events), and the JSON text sent. */
export interface Row {
  readonly seq: number;
  readonly kind: number;
  readonly session: string | null;
  readonly body: string;
}

const ROW = "q:";
const JOURNAL = "j:";
const REC = "r:";

function rowKey(prefix: string, seq: number): string {
  return prefix + String(seq).padStart(12, "0");
}

/** `seq \n kind \n session \n body`: the body (JSON text, no raw newlines) is not escaped again. */
function encodeRow(row: Row): string {
  return `${row.seq}\n${row.kind}\n${row.session ?? ""}\n${row.body}`;
}

function decodeRow(text: string | null): Row | null {
  if (text === null) return null;
  const a = text.indexOf("\n");
  const b = text.indexOf("\n", a + 1);
  const c = text.indexOf("\n", b + 1);
  if (a < 0 || b < 0 || c < 0) return null;
  const seq = Number(text.slice(0, a));
  const kind = Number(text.slice(a + 1, b));
  if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(kind)) return null;
  return { seq, kind, session: text.slice(b + 1, c) || null, body: text.slice(c + 1) };
}

export class DeviceStore {
  /** Rows waiting for upload, oldest first. */
  rows: Row[] = [];
  private readonly records = new Map<string, string>();
  private nextSeq = 1;
  private dirtyRecords = new Map<string, string | null>();
  private newRows: Row[] = [];
  private removedSeqs: number[] = [];
  private writing: Promise<void> = Promise.resolve();
  private scheduled = false;
  private failures = 0;
  /** Called when a background write fails (storage full, blocked). */
  onError: (error: unknown) => void = () => undefined;
  /**
   * Called before journal rows are removed (they are in the adapter by then): the owner saves a
   * device state that covers them, since rows newer than the saved state are replayed into it
   * after a crash and the journal is what a crashed page reads synchronously.
   */
  beforeJournalCleanup: () => void = () => undefined;

  constructor(
    private readonly adapter: StorageAdapter,
    private readonly sync: SyncStore | null,
    private readonly ns: string,
    private readonly maxRows: number,
  ) {}

  /** True when a committed row is durable as soon as `commit` returns. */
  get syncDurable(): boolean {
    return this.sync !== null;
  }

  /** Read what earlier runs left: records and journal synchronously when possible, then rows. */
  loadSync(): void {
    const sync = this.sync;
    if (sync === null) return;
    const journal: Row[] = [];
    for (const key of this.syncKeys()) {
      const value = sync.getItem(key);
      const local = key.slice(this.ns.length);
      if (value === null) continue;
      if (local.startsWith(REC)) this.records.set(local.slice(REC.length), value);
      else if (local.startsWith(JOURNAL)) {
        const row = decodeRow(value);
        if (row !== null) journal.push(row);
      }
    }
    this.merge(journal);
  }

  /** The adapter's rows (and, without a synchronous store, its records). */
  async loadAsync(): Promise<void> {
    const keys = (await this.adapter.getAllKeys()).filter((k) => k.startsWith(this.ns));
    const found = await this.adapter.multiGet(keys);
    const rows: Row[] = [];
    for (const [key, value] of found) {
      const local = key.slice(this.ns.length);
      if (local.startsWith(ROW)) {
        const row = decodeRow(value);
        if (row !== null) rows.push(row);
      } else if (local.startsWith(REC) && this.sync === null && value !== null) {
        if (!this.records.has(local.slice(REC.length))) this.records.set(local.slice(REC.length), value);
      }
    }
    this.merge(rows);
    if (this.sync !== null) this.moveJournal();
  }

  private syncKeys(): string[] {
    const sync = this.sync as SyncStore;
    const out: string[] = [];
    for (let i = 0; i < sync.length; i++) {
      const key = sync.key(i);
      if (key !== null && key.startsWith(this.ns)) out.push(key);
    }
    return out;
  }

  private merge(found: Row[]): void {
    const known = new Set(this.rows.map((r) => r.seq));
    for (const row of found) if (!known.has(row.seq)) this.rows.push(row);
    this.rows.sort((a, b) => a.seq - b.seq);
    const last = this.rows[this.rows.length - 1];
    const saved = Number(this.records.get("seq") ?? 0);
    this.nextSeq = Math.max(this.nextSeq, saved + 1, last ? last.seq + 1 : 1);
  }

  // --- records ----------------------------------------------------------------------------------

  get(name: string): string | null {
    return this.records.get(name) ?? null;
  }

  /** Set (or with `null` remove) a record; durable at once with a synchronous store. */
  put(name: string, value: string | null): void {
    if (value === null) this.records.delete(name);
    else this.records.set(name, value);
    if (this.sync !== null) {
      try {
        if (value === null) this.sync.removeItem(this.ns + REC + name);
        else this.sync.setItem(this.ns + REC + name, value);
        return;
      } catch (exc) {
        this.onError(exc);
      }
    }
    this.dirtyRecords.set(name, value);
    this.schedule();
  }

  // --- rows -------------------------------------------------------------------------------------

  /** Queue rows; returns how many of the oldest were dropped to stay within the bound. */
  append(items: Array<Omit<Row, "seq">>): number {
    const made: Row[] = items.map((item) => ({ ...item, seq: this.nextSeq++ }));
    this.rows.push(...made);
    if (this.sync !== null) {
      try {
        for (const row of made) this.sync.setItem(rowKey(this.ns + JOURNAL, row.seq), encodeRow(row));
      } catch (exc) {
        this.onError(exc); // localStorage full: the rows still go to the adapter below
      }
    }
    this.newRows.push(...made);
    this.schedule();
    let dropped = 0;
    while (this.rows.length > this.maxRows) {
      const old = this.rows.shift() as Row;
      this.removedSeqs.push(old.seq);
      dropped++;
    }
    if (dropped) this.addDropped(dropped);
    return dropped;
  }

  /** Forget rows that were delivered (or discarded). */
  remove(seqs: readonly number[]): void {
    if (!seqs.length) return;
    const gone = new Set(seqs);
    this.rows = this.rows.filter((r) => !gone.has(r.seq));
    this.removedSeqs.push(...seqs);
    this.schedule();
  }

  /** The sequence number of the newest row ever queued (kept across runs). */
  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  get dropped(): number {
    return Number(this.get("dropped") ?? 0);
  }

  addDropped(n: number): void {
    this.put("dropped", String(this.dropped + n));
  }

  /** The dropped counter goes down by what an accepted upload reported. */
  subtractDropped(n: number): void {
    if (n) this.put("dropped", String(Math.max(0, this.dropped - n)));
  }

  // --- background writes ------------------------------------------------------------------------

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    const run = (): void => {
      this.scheduled = false;
      this.writing = this.writing.then(() => this.write());
    };
    if (typeof queueMicrotask === "function") queueMicrotask(run);
    else void Promise.resolve().then(run);
  }

  private async write(): Promise<void> {
    const rows = this.newRows;
    const removed = this.removedSeqs;
    const records = this.dirtyRecords;
    if (!rows.length && !removed.length && !records.size) return;
    this.newRows = [];
    this.removedSeqs = [];
    this.dirtyRecords = new Map();
    if (rows.length) {
      // Until now the newest sequence number was in the rows themselves (journal or batch).
      const seq = String(this.lastSeq);
      this.records.set("seq", seq);
      if (this.sync !== null) this.sync.setItem(this.ns + REC + "seq", seq);
      else records.set("seq", seq);
    }
    const gone = new Set(removed);
    const pairs: Array<[string, string]> = rows
      .filter((r) => !gone.has(r.seq))
      .map((r) => [rowKey(this.ns + ROW, r.seq), encodeRow(r)]);
    const deletions = removed.map((seq) => rowKey(this.ns + ROW, seq));
    for (const [name, value] of records) {
      if (value === null) deletions.push(this.ns + REC + name);
      else pairs.push([this.ns + REC + name, value]);
    }
    try {
      if (pairs.length) await this.adapter.multiSet(pairs);
      if (deletions.length) await this.adapter.multiRemove(deletions);
      this.failures = 0;
    } catch (exc) {
      // Keep the work for the next attempt; the synchronous journal (if any) still holds it.
      this.newRows = [...rows, ...this.newRows];
      this.removedSeqs = [...removed, ...this.removedSeqs];
      for (const [k, v] of records) if (!this.dirtyRecords.has(k)) this.dirtyRecords.set(k, v);
      this.onError(exc);
      this.failures++;
      if (this.failures < 5) setTimeout(() => this.schedule(), 200 * this.failures);
      return;
    }
    if (this.sync !== null) {
      try {
        if (rows.length) this.beforeJournalCleanup();
        for (const r of rows) this.sync.removeItem(rowKey(this.ns + JOURNAL, r.seq));
        for (const seq of removed) this.sync.removeItem(rowKey(this.ns + JOURNAL, seq));
      } catch (exc) {
        this.onError(exc);
      }
    }
  }

  /** Move journal rows left by an earlier page into the adapter. */
  private moveJournal(): void {
    const pending = new Set(this.newRows.map((r) => r.seq));
    for (const row of this.rows) {
      if (!pending.has(row.seq) && this.sync?.getItem(rowKey(this.ns + JOURNAL, row.seq)) !== null) {
        this.newRows.push(row);
      }
    }
    this.schedule();
  }

  /** Resolves when everything committed so far is in the adapter. */
  async persisted(): Promise<void> {
    for (;;) {
      const current = this.writing;
      await current;
      if (!this.scheduled && !this.newRows.length && !this.removedSeqs.length && !this.dirtyRecords.size) return;
      if (!this.scheduled) this.schedule();
      await Promise.resolve();
      if (current === this.writing) await new Promise((r) => setTimeout(r, 0));
    }
  }
}
