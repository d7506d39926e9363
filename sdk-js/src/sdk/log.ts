/** Logging with the Python SDK's levels; messages go to `console` (or a sink the app gives). */

export const LOG_LEVELS = ["none", "error", "warn", "info", "debug"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type LogSink = (level: Exclude<LogLevel, "none">, message: string, ...details: unknown[]) => void;

const consoleSink: LogSink = (level, message, ...details) => {
  const c = (globalThis as unknown as { console?: Record<string, (...a: unknown[]) => void> }).console;
  (c?.[level === "warn" ? "warn" : level === "error" ? "error" : "log"] ?? (() => undefined))(
    `[tidings] ${message}`,
    ...details,
  );
};

export class Logger {
  private readonly rank: number;
  constructor(
    level: LogLevel,
    private readonly sink: LogSink = consoleSink,
  ) {
    this.rank = LOG_LEVELS.indexOf(level);
  }
  error(message: string, ...details: unknown[]): void {
    if (this.rank >= 1) this.sink("error", message, ...details);
  }
  warn(message: string, ...details: unknown[]): void {
    if (this.rank >= 2) this.sink("warn", message, ...details);
  }
  info(message: string, ...details: unknown[]): void {
    if (this.rank >= 3) this.sink("info", message, ...details);
  }
  debug(message: string, ...details: unknown[]): void {
    if (this.rank >= 4) this.sink("debug", message, ...details);
  }
}
