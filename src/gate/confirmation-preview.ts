/**
 * Confirmation previews: what the arguments of a call waiting for a person refer to (the employee
 * behind an id), so the person decides on a name rather than an id. Configured per tool
 * (`servers.<server>.tools.<tool>.preview`): another, read-only tool of the same server, called through
 * the tool gate with the caller's own identity, so a preview they may not read is never shown. It is
 * bounded by `confirmations.previewTimeoutMs`, and any failure only means no preview: a confirmation
 * never waits longer or fails because of it.
 */
import type { CallToolResult } from '@modelcontextprotocol/client';
import type { Identity } from '../auth/identity.js';
import { PREVIEW_ARGUMENT, PREVIEW_PLACEHOLDER, type GatewayConfig } from '../config/schema.js';
import { GatewayError } from '../errors.js';
import type { CallOptions } from '../upstream/tool-service.js';
import type { GatePass, ToolTarget } from './tool-gate.js';

/** Longest preview kept; a card is no place for a whole record. */
export const MAX_PREVIEW_CHARS = 300;

type PreviewRule = NonNullable<GatewayConfig['servers'][string]['tools'][string]['preview']>;

/** The two gate steps a preview takes, like any other call: check (authorize, validate, policy), then execute. */
export interface PreviewGate {
  check(identity: Identity, target: ToolTarget, args: unknown): Promise<GatePass>;
  execute(identity: Identity, pass: GatePass, options: CallOptions): Promise<CallToolResult>;
}

export interface PreviewLogger {
  debug(details: object, message: string): void;
  warn(details: object, message: string): void;
}

export type PreviewOptions = Pick<CallOptions, 'requestId' | 'traceparent' | 'runId' | 'signal'>;

export class ConfirmationPreviews {
  constructor(
    private readonly servers: GatewayConfig['servers'],
    private readonly timeoutMs: number,
    private readonly log: PreviewLogger,
  ) {}

  /** The preview of a call that needs confirmation, or undefined (none configured, refused, failed or too slow). */
  async of(gate: PreviewGate, identity: Identity, pass: GatePass, options: PreviewOptions): Promise<string | undefined> {
    const { server, name } = pass.tool;
    const rule = this.servers[server]?.tools[name]?.preview;
    if (rule === undefined) return undefined;
    const args = previewArguments(rule.arguments, pass.arguments);
    const context = { server, tool: name, previewTool: rule.tool, requestId: options.requestId };
    if (args === undefined) {
      this.log.debug(context, 'no confirmation preview: the call lacks an argument the preview names');
      return undefined;
    }
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]);
    try {
      return await untilAborted(this.read(gate, identity, server, rule, args, { ...options, signal }), signal);
    } catch (error) {
      if (error instanceof GatewayError && error.status < 500) {
        // Refused for this caller (not theirs to see, invalid arguments): simply nothing to show.
        this.log.debug({ ...context, code: error.code }, 'no confirmation preview: refused for the caller');
      } else {
        const reason = timeout.aborted ? 'timed out' : error instanceof GatewayError ? error.code : error instanceof Error ? error.message : String(error);
        this.log.warn({ ...context, reason }, 'no confirmation preview: the preview tool failed');
      }
      return undefined;
    }
  }

  private async read(gate: PreviewGate, identity: Identity, server: string, rule: PreviewRule, args: Record<string, unknown>, options: CallOptions): Promise<string | undefined> {
    const preview = await gate.check(identity, { server, tool: rule.tool }, args);
    // Only a read the caller could make right now without anyone's confirmation runs unattended.
    if (preview.tool.annotations?.readOnlyHint !== true || preview.decision.effect !== 'allow') {
      this.log.warn({ server, previewTool: rule.tool, effect: preview.decision.effect }, 'no confirmation preview: the preview tool is not a read-only tool the caller may call unconfirmed');
      return undefined;
    }
    return render(await gate.execute(identity, preview, options), rule.text);
  }
}

/** The preview tool's arguments: whole-value placeholders take the confirmed call's argument as is. */
export function previewArguments(template: Record<string, unknown>, callArguments: Record<string, unknown>): Record<string, unknown> | undefined {
  const entries: [string, unknown][] = [];
  for (const [name, value] of Object.entries(template)) {
    const placeholder = typeof value === 'string' ? PREVIEW_ARGUMENT.exec(value)?.[1] : undefined;
    if (placeholder === undefined) entries.push([name, value]);
    else if (Object.hasOwn(callArguments, placeholder)) entries.push([name, callArguments[placeholder]]);
    else return undefined;
  }
  return Object.fromEntries(entries);
}

/** The text a card shows for the preview tool's result; undefined for a tool error or a field it lacks. */
export function render(result: CallToolResult, text: string | undefined): string | undefined {
  if (result.isError === true) return undefined;
  if (text === undefined) {
    return oneLine(result.content.flatMap((block) => (block.type === 'text' ? [block.text] : [])).join(' '));
  }
  const data = result.structuredContent;
  if (data === undefined || data === null || typeof data !== 'object' || Array.isArray(data)) return undefined;
  let complete = true;
  const filled = text.replace(PREVIEW_PLACEHOLDER, (_match, field: string) => {
    const value = Object.hasOwn(data, field) ? (data as Record<string, unknown>)[field] : undefined;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
    complete = false;
    return '';
  });
  return complete ? oneLine(filled) : undefined;
}

function oneLine(text: string): string | undefined {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat === '') return undefined;
  return flat.length <= MAX_PREVIEW_CHARS ? flat : `${flat.slice(0, MAX_PREVIEW_CHARS - 1)}…`;
}

/** Settles with `promise`, or rejects once `signal` aborts (the catalogue refresh a check may wait on ignores signals). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
