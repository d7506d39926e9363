/**
 * Where the SDK keeps its data on the device, behind two small interfaces:
 *
 * - `StorageAdapter`: asynchronous key-value storage with React Native's `AsyncStorage` API
 *   (pass `AsyncStorage` itself), implemented here over IndexedDB for browsers and in memory for
 *   tests. The upload queue lives here.
 * - `SyncStore`: synchronous key-value storage (`localStorage` in browsers). When there is one,
 *   `track()` writes the event to it before returning, so a reload or a crash loses nothing;
 *   without one (React Native), durability comes with `persisted()`.
 */

export interface StorageAdapter {
  getItem(key: string): Promise<string | null>;
  setItem(key: string, value: string): Promise<void>;
  removeItem(key: string): Promise<void>;
  getAllKeys(): Promise<readonly string[]>;
  multiGet(keys: readonly string[]): Promise<ReadonlyArray<readonly [string, string | null]>>;
  multiSet(pairs: ReadonlyArray<readonly [string, string]>): Promise<void>;
  multiRemove(keys: readonly string[]): Promise<void>;
}

/** Synchronous storage with the Web Storage API (`localStorage`). */
export interface SyncStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
  key(index: number): string | null;
  readonly length: number;
}

/** Everything in memory: for tests, and for runtimes with nothing better. Lost on exit. */
export class MemoryStorage implements StorageAdapter {
  readonly data = new Map<string, string>();

  async getItem(key: string): Promise<string | null> {
    return this.data.get(key) ?? null;
  }
  async setItem(key: string, value: string): Promise<void> {
    this.data.set(key, value);
  }
  async removeItem(key: string): Promise<void> {
    this.data.delete(key);
  }
  async getAllKeys(): Promise<readonly string[]> {
    return [...this.data.keys()];
  }
  async multiGet(keys: readonly string[]): Promise<ReadonlyArray<readonly [string, string | null]>> {
    return keys.map((k) => [k, this.data.get(k) ?? null] as const);
  }
  async multiSet(pairs: ReadonlyArray<readonly [string, string]>): Promise<void> {
    for (const [k, v] of pairs) this.data.set(k, v);
  }
  async multiRemove(keys: readonly string[]): Promise<void> {
    for (const k of keys) this.data.delete(k);
  }
}

/** A synchronous store in memory (the `SyncStore` of tests). */
export class MemorySyncStore implements SyncStore {
  private readonly data = new Map<string, string>();

  getItem(key: string): string | null {
    return this.data.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.data.set(key, value);
  }
  removeItem(key: string): void {
    this.data.delete(key);
  }
  key(index: number): string | null {
    return [...this.data.keys()][index] ?? null;
  }
  get length(): number {
    return this.data.size;
  }
}

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** `AsyncStorage`-style storage in one IndexedDB object store; `multi*` calls are atomic. */
export class IndexedDBStorage implements StorageAdapter {
  private db: Promise<IDBDatabase> | null = null;

  constructor(
    private readonly name = "tidings",
    private readonly factory: IDBFactory = indexedDB,
  ) {}

  private open(): Promise<IDBDatabase> {
    if (this.db === null) {
      const req = this.factory.open(this.name, 1);
      req.onupgradeneeded = () => req.result.createObjectStore("kv");
      this.db = request(req);
      this.db.catch(() => {
        this.db = null;
      });
    }
    return this.db;
  }

  private async run<T>(mode: IDBTransactionMode, work: (store: IDBObjectStore) => Promise<T> | T): Promise<T> {
    const db = await this.open();
    const tx = db.transaction("kv", mode);
    const done = new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error ?? new Error("IndexedDB transaction aborted"));
    });
    const result = await work(tx.objectStore("kv"));
    await done;
    return result;
  }

  async getItem(key: string): Promise<string | null> {
    const value = await this.run("readonly", (s) => request(s.get(key)));
    return typeof value === "string" ? value : null;
  }
  setItem(key: string, value: string): Promise<void> {
    return this.multiSet([[key, value]]);
  }
  removeItem(key: string): Promise<void> {
    return this.multiRemove([key]);
  }
  async getAllKeys(): Promise<readonly string[]> {
    const keys = await this.run("readonly", (s) => request(s.getAllKeys()));
    return keys.map(String);
  }
  multiGet(keys: readonly string[]): Promise<ReadonlyArray<readonly [string, string | null]>> {
    return this.run("readonly", (s) =>
      Promise.all(keys.map(async (k) => [k, ((await request(s.get(k))) as string | undefined) ?? null] as const)),
    );
  }
  multiSet(pairs: ReadonlyArray<readonly [string, string]>): Promise<void> {
    return this.run("readwrite", (s) => {
      for (const [k, v] of pairs) s.put(v, k);
    });
  }
  multiRemove(keys: readonly string[]): Promise<void> {
    return this.run("readwrite", (s) => {
      for (const k of keys) s.delete(k);
    });
  }
}

/** The platform's storage: IndexedDB and `localStorage` in a browser, memory elsewhere. */
export function defaultStorage(): { adapter: StorageAdapter; sync: SyncStore | null } {
  const g = globalThis as { indexedDB?: IDBFactory; localStorage?: SyncStore };
  let sync: SyncStore | null = null;
  try {
    if (g.localStorage) {
      g.localStorage.setItem("tidings:probe", "1");
      g.localStorage.removeItem("tidings:probe");
      sync = g.localStorage;
    }
  } catch {
    sync = null; // storage disabled (privacy settings) or full
  }
  return { adapter: g.indexedDB ? new IndexedDBStorage("tidings", g.indexedDB) : new MemoryStorage(), sync };
}
