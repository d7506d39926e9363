/**
 * The session state machine, as a pure object. A session is a continuous period of foreground
 * use; short background trips merge into it, a trip of `timeoutMs` or longer finishes it.
 *
 * Stamps of `SessionFinished`: a background trip of the timeout or more, or a terminate while
 * backgrounded: the moment the app went to the background; terminate in the foreground: now;
 * a session left unfinished by a crash: its last activity.
 */

import { InvalidInput } from "./errors";

export const DEFAULT_SESSION_TIMEOUT_MS = 60_000;

export type StartType = "cold" | "warm";

export interface SessionStart {
  readonly kind: "start";
  readonly sessionId: string;
  readonly at: number;
  readonly type: StartType;
  readonly counter: number;
}

export interface SessionEnd {
  readonly kind: "end";
  readonly sessionId: string;
  readonly at: number;
}

export type SessionChange = SessionStart | SessionEnd;

/** Everything the machine persists between calls and across process restarts. */
export class SessionState {
  counter = 0;
  sessionId: string | null = null;
  startedAt: number | null = null;
  pausedAt: number | null = null;
  lastActivity: number | null = null;
  eventCount = 0;

  /** A session exists (active or paused) and has not been finished. */
  get inSession(): boolean {
    return this.sessionId !== null;
  }

  /** A session is active, not paused. */
  get foreground(): boolean {
    return this.sessionId !== null && this.pausedAt === null;
  }

  toJSON(): Record<string, unknown> {
    return {
      counter: this.counter,
      sessionId: this.sessionId,
      startedAt: this.startedAt,
      pausedAt: this.pausedAt,
      lastActivity: this.lastActivity,
      eventCount: this.eventCount,
    };
  }

  static fromJSON(data: Record<string, unknown> | null | undefined): SessionState {
    const s = new SessionState();
    if (!data) return s;
    s.counter = Number(data["counter"] ?? 0);
    s.sessionId = (data["sessionId"] as string | null) ?? null;
    s.startedAt = (data["startedAt"] as number | null) ?? null;
    s.pausedAt = (data["pausedAt"] as number | null) ?? null;
    s.lastActivity = (data["lastActivity"] as number | null) ?? null;
    s.eventCount = Number(data["eventCount"] ?? 0);
    return s;
  }
}

export type NewId = (nowMs: number) => string;

export class SessionMachine {
  constructor(
    readonly state: SessionState = new SessionState(),
    public timeoutMs: number = DEFAULT_SESSION_TIMEOUT_MS,
  ) {
    if (timeoutMs < 0) throw new InvalidInput("sessionTimeout", "must not be negative");
  }

  /** A process starts: finish a session left over by a crash, then start a cold one. */
  launch(nowMs: number, newId: NewId): SessionChange[] {
    const changes: SessionChange[] = [];
    if (this.state.inSession) changes.push(this.finish());
    changes.push(this.start(nowMs, "cold", newId));
    return changes;
  }

  /** The app leaves the foreground: the session pauses (nothing is emitted). */
  background(nowMs: number): SessionChange[] {
    const st = this.state;
    if (st.foreground) {
      st.pausedAt = nowMs;
      this.touch(nowMs);
    }
    return [];
  }

  /** The app returns: resume within the timeout, else finish and start a warm session. */
  foreground(nowMs: number, newId: NewId): SessionChange[] {
    const st = this.state;
    if (!st.inSession) return [this.start(nowMs, "warm", newId)];
    if (st.pausedAt === null) return [];
    if (nowMs - st.pausedAt < this.timeoutMs) {
      st.pausedAt = null;
      this.touch(nowMs);
      return [];
    }
    return [this.finish(st.pausedAt), this.start(nowMs, "warm", newId)];
  }

  /** The process ends cleanly: finish the session, active (now) or paused (its pause). */
  terminate(nowMs: number): SessionChange[] {
    const st = this.state;
    if (!st.inSession) return [];
    return [this.finish(st.pausedAt === null ? nowMs : st.pausedAt)];
  }

  /** An event was recorded in the current session (active or paused). */
  record(nowMs: number): void {
    this.touch(nowMs);
    this.state.eventCount += 1;
  }

  private touch(nowMs: number): void {
    const st = this.state;
    if (st.lastActivity === null || nowMs > st.lastActivity) st.lastActivity = nowMs;
  }

  private start(nowMs: number, type: StartType, newId: NewId): SessionStart {
    const st = this.state;
    st.counter += 1;
    st.sessionId = newId(nowMs);
    st.startedAt = nowMs;
    st.pausedAt = null;
    st.lastActivity = nowMs;
    st.eventCount = 0;
    return { kind: "start", sessionId: st.sessionId, at: nowMs, type, counter: st.counter };
  }

  private finish(at?: number): SessionEnd {
    const st = this.state;
    const sessionId = st.sessionId as string;
    const stamp = at !== undefined ? at : st.lastActivity !== null ? st.lastActivity : st.startedAt || 0;
    st.sessionId = null;
    st.startedAt = null;
    st.pausedAt = null;
    st.eventCount = 0;
    return { kind: "end", sessionId, at: stamp };
  }
}
