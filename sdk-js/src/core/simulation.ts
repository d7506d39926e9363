/**
 * Run a parsed scenario on a `Device`, offline and deterministic. Ids come from the same seeded
 * stream as in the Python runner, so both print the same lines; nothing here reads a clock or
 * touches a file.
 */

import { CampaignEngine, Decision } from "./campaigns/engine";
import { parseProjectSettings } from "./campaigns/limits";
import { Campaign, parseCampaign } from "./campaigns/model";
import { Device, DeviceState } from "./device";
import type { Output } from "./device";
import { InvalidCampaign, InvalidEvent, InvalidInput, InvalidScenario } from "./errors";
import { EventRecord } from "./events";
import { IdFactory } from "./ids";
import { isNum, numValue } from "./json";
import { MersenneTwister } from "./mt19937";
import { parseScenario, secondsToMs, stepError, stepPath } from "./scenario";
import type { Scenario, Step } from "./scenario";

/** The scenario's campaigns and project caps, validated with their JSON paths. */
export function buildEngine(scenario: Scenario): CampaignEngine {
  const campaigns: Campaign[] = [];
  scenario.campaigns.forEach((raw, i) => {
    try {
      campaigns.push(parseCampaign(raw));
    } catch (exc) {
      if (exc instanceof InvalidCampaign) throw new InvalidScenario(joinPath(`campaigns[${i}]`, exc.field), exc.reason);
      throw exc;
    }
  });
  // An invalid project surfaces as the InvalidConfig it is, as in the Python runner.
  return new CampaignEngine(campaigns, parseProjectSettings(scenario.project));
}

function joinPath(prefix: string, path: string): string {
  if (!path) return prefix;
  return path.startsWith("[") ? `${prefix}${path}` : `${prefix}.${path}`;
}

function refreshMs(scenario: Scenario): number {
  const seconds = scenario.project.has("configRefreshSeconds") ? scenario.project.get("configRefreshSeconds") : 3600;
  if (typeof seconds === "boolean" || !isNum(seconds) || numValue(seconds) < 0) {
    throw new InvalidScenario("project.configRefreshSeconds", "must be a number >= 0");
  }
  return secondsToMs(seconds);
}

/** A scripted device: one process at a time, launched and terminated by the script. */
export class Simulation {
  readonly engine: CampaignEngine;
  readonly device: Device;
  private running = false;

  constructor(
    readonly scenario: Scenario,
    seed = 0,
  ) {
    const rng = new MersenneTwister(seed);
    this.engine = buildEngine(scenario);
    this.device = new Device(scenario.device, new IdFactory((n) => rng.randbytes(n)), {
      state: new DeviceState(),
      sessionTimeoutMs: scenario.sessionTimeoutMs,
      configRefreshMs: refreshMs(scenario),
      campaigns: this.engine,
      cohorts: scenario.cohorts,
    });
  }

  /** Every output, oldest first. */
  run(): Output[] {
    const out: Output[] = [];
    for (const step of this.scenario.steps) {
      try {
        out.push(...this.step(step));
      } catch (exc) {
        if (exc instanceof InvalidEvent) throw stepError(step, exc);
        throw exc;
      }
    }
    return out;
  }

  private step(step: Step): Output[] {
    const device = this.device;
    const now = step.at;
    const args = step.args;
    const arg = (k: string): unknown => (args.has(k) ? args.get(k) : null);
    if (step.do === "launch") {
      this.running = true;
      return [...device.launch(now), ...this.fetchConfig(now)];
    }
    if (!this.running) throw new InvalidScenario(`${stepPath(step)}.do`, "the app is not running: launch it first");
    switch (step.do) {
      case "terminate":
        this.running = false;
        return device.terminate(now);
      case "background":
        return device.background(now);
      case "foreground": {
        const out = device.foreground(now);
        if (out.length && device.configIsStale(now)) out.push(...this.fetchConfig(now));
        return out;
      }
      case "track":
        return device.track(arg("name"), arg("properties"), now);
      case "set_property":
        return device.setCustomProperty(arg("key"), arg("value"), now);
      case "set_properties":
        return device.setCustomProperties(arg("properties"), now);
      case "remove_property":
        return device.removeCustomProperty(arg("key"), now);
      case "clear_properties":
        return device.clearCustomProperties(now);
      case "set_user_id":
        device.setUserId(arg("userId"));
        return [];
      case "resolve":
        return device.campaignResolved(
          arg("campaignId") as string,
          arg("result") as string,
          (arg("unavailableReason") as string | null) ?? null,
          now,
        );
      default:
        throw new InvalidScenario(`${stepPath(step)}.do`, `unknown step ${step.do}`);
    }
  }

  private fetchConfig(now: number): Output[] {
    const out = this.device.configFetchStarted(now);
    const configured: Array<[string, string]> = this.engine.campaigns.map((c) => [c.id, c.name]);
    return [...out, ...this.device.configFetchFinished(now, true, configured)];
  }
}

/** One output as the line the runner prints. */
export function outputLine(output: Output): string {
  if (output instanceof Decision) return `{"decision":${JSON.stringify(output.toJSON())}}`;
  return (output as EventRecord).toJSONText();
}

export interface RunResult {
  /** 0, or 2 for a malformed scenario. */
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * What `simulate [--decisions] FILE` prints for a scenario's text: exactly the Python runner's
 * output, lines and exit status. `label` is the file name as it appears in error messages.
 */
export function runScenarioText(label: string, text: string, decisions: boolean, parse: (t: string) => unknown): RunResult {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (exc) {
    return { code: 2, stdout: "", stderr: `${label}: not valid JSON: ${(exc as Error).message}\n` };
  }
  let outputs: Output[];
  try {
    outputs = new Simulation(parseScenario(raw)).run();
  } catch (exc) {
    if (exc instanceof InvalidInput) {
      return { code: 2, stdout: "", stderr: `${label}: ${(exc as Error).message}\n` };
    }
    throw exc;
  }
  let stdout = "";
  for (const o of outputs) {
    if (o instanceof Decision && !decisions) continue;
    stdout += outputLine(o) + "\n";
  }
  return { code: 0, stdout, stderr: "" };
}
