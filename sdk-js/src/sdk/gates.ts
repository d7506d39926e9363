/**
 * Gates: DeepLink campaigns whose URL starts with a registered base URL are presented by the
 * app's presenter instead of the deep-link listeners, and `trackGated()` waits for the outcome
 * (a Promise with a deadline that fails open).
 */

import type { ActionInfo } from "../core/actions";
import { InvalidInput } from "../core/errors";

export type GateOutcome = "proceed" | "cancelled";
export interface GateDecision {
  readonly outcome: GateOutcome;
  readonly reason: "completed" | "fail_open" | null;
}
export const FAIL_OPEN: GateDecision = Object.freeze({ outcome: "proceed", reason: "fail_open" });
const COMPLETED: GateDecision = Object.freeze({ outcome: "proceed", reason: "completed" });
const CANCELLED: GateDecision = Object.freeze({ outcome: "cancelled", reason: null });

export type ResolvedResult = "Completed" | "Dismissed" | "Unavailable" | "SkippedNoContinuation";
export type UnavailableReason = "TimedOut" | "PresenterFailed" | "PresenterReported";

/** How a presenter reports what happened; only the first call counts. */
export interface Resolution {
  completed(): void;
  dismissed(): void;
  unavailable(): void;
}

export type Presenter = (params: Record<string, string>, info: ActionInfo, resolution: Resolution) => unknown;

export interface Gate {
  readonly token: number;
  readonly baseUrl: string;
  readonly presenter: Presenter;
  readonly onAbort: "cancel" | "proceed";
  readonly timeoutMs: number;
  live: Presentation | null;
}

/** One presented gate action, resolved at most once (by the presenter or its deadline). */
export class Presentation {
  result: ResolvedResult | null = null;
  reason: UnavailableReason | null = null;
  readonly done: Promise<GateDecision>;
  private settle!: (d: GateDecision) => void;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    readonly gate: Gate,
    readonly campaignId: string,
    readonly url: string,
    readonly info: ActionInfo,
    timeoutMs: number,
    private readonly onResolved: (p: Presentation) => void,
  ) {
    this.done = new Promise((resolve) => (this.settle = resolve));
    this.timer = setTimeout(() => this.resolve("Unavailable", "TimedOut"), timeoutMs);
  }

  resolve(result: ResolvedResult, reason: UnavailableReason | null = null): void {
    if (this.result !== null) return;
    this.result = result;
    this.reason = reason;
    if (this.timer !== null) clearTimeout(this.timer);
    this.settle(this.decision());
    this.onResolved(this);
  }

  decision(): GateDecision {
    if (this.result === "Completed") return COMPLETED;
    if (this.result === "Dismissed" && this.gate.onAbort === "cancel") return CANCELLED;
    return FAIL_OPEN;
  }

  resolution(): Resolution {
    return {
      completed: () => this.resolve("Completed"),
      dismissed: () => this.resolve("Dismissed"),
      unavailable: () => this.resolve("Unavailable", "PresenterReported"),
    };
  }
}

export class GateRegistry {
  private readonly gates: Gate[] = [];
  private next = 1;

  register(baseUrl: unknown, presenter: unknown, onAbort: unknown = "cancel", timeoutS: unknown = 60): number {
    if (typeof baseUrl !== "string" || !baseUrl) throw new InvalidInput("baseUrl", "must be a non-empty string");
    if (typeof presenter !== "function") throw new InvalidInput("presenter", "must be a function");
    if (onAbort !== "cancel" && onAbort !== "proceed") throw new InvalidInput("onAbort", "must be 'cancel' or 'proceed'");
    if (typeof timeoutS !== "number" || !(timeoutS > 0)) throw new InvalidInput("timeout", "must be a positive number of seconds");
    const token = this.next++;
    this.gates.push({ token, baseUrl, presenter: presenter as Presenter, onAbort, timeoutMs: timeoutS * 1000, live: null });
    return token;
  }

  unregister(token: number): void {
    const i = this.gates.findIndex((g) => g.token === token);
    if (i >= 0) this.gates.splice(i, 1);
  }

  /** The gate with the longest base URL that `url` starts with. */
  match(url: string): Gate | null {
    let best: Gate | null = null;
    for (const g of this.gates) if (url.startsWith(g.baseUrl) && (!best || g.baseUrl.length > best.baseUrl.length)) best = g;
    return best;
  }
}
