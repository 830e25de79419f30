/**
 * How a sample server declares its tools: once per server instance, registered on every per-request
 * `McpServer` with the caller baked in. Centralises what every tool shares: annotations by kind,
 * the write-role check, call counting, definition patches and the `isError` shape of failures.
 */
import type { CallToolResult, McpServer, StandardSchemaWithJSON } from '@modelcontextprotocol/server';
import { canWrite, type Caller, type SampleServerName } from './caller.js';
import { ToolFailure } from './tool-failure.js';

export interface ToolSpec<I extends StandardSchemaWithJSON, Out extends Record<string, unknown>> {
  title: string;
  /** Written for the model: what the tool does, what it returns, when to use it. */
  description: string;
  inputSchema: I;
  outputSchema: StandardSchemaWithJSON<Out>;
}

/** A successful answer: a one-line summary for `content` and the `structuredContent`. */
export interface ToolAnswer<Out> {
  summary: string;
  data: Out;
}

export type ToolRun<I extends StandardSchemaWithJSON, Out> = (args: StandardSchemaWithJSON.InferOutput<I>, caller: Caller) => ToolAnswer<Out>;

/** A live change to a tool's definition (see `controls.redefineTool`). */
export interface ToolPatch {
  description?: string;
}

/** Everything a tool needs to register itself for one request. */
export interface ToolRegistration {
  server: McpServer;
  serverName: SampleServerName;
  caller: Caller;
  patchOf: (tool: string) => ToolPatch | undefined;
  /** Called when an execution reaches the tool (after the SDK validated the input). */
  onCall: (tool: string) => void;
}

export interface SampleTool {
  readonly name: string;
  register(registration: ToolRegistration): void;
}

function failure(message: string): CallToolResult {
  return { content: [{ type: 'text', text: message }], isError: true };
}

function defineTool<I extends StandardSchemaWithJSON, Out extends Record<string, unknown>>(
  kind: 'read' | 'write',
  name: string,
  spec: ToolSpec<I, Out>,
  run: ToolRun<I, Out>,
): SampleTool {
  const annotations = kind === 'read' ? { readOnlyHint: true } : { readOnlyHint: false, destructiveHint: true };
  return {
    name,
    register({ server, serverName, caller, patchOf, onCall }) {
      // Registered with the input schema's type erased: the SDK's callback type is conditional on
      // it and cannot resolve for a generic schema. The SDK validates `args` before calling.
      server.registerTool<StandardSchemaWithJSON<Out>, StandardSchemaWithJSON>(
        name,
        { ...spec, description: patchOf(name)?.description ?? spec.description, annotations },
        (args): CallToolResult => {
          onCall(name);
          if (kind === 'write' && !canWrite(caller, serverName)) {
            return failure(`Not permitted: ${name} requires the ${serverName}-write role.`);
          }
          try {
            const { summary, data } = run(args, caller);
            return { content: [{ type: 'text', text: summary }], structuredContent: data };
          } catch (error) {
            if (error instanceof ToolFailure) return failure(error.message);
            throw error;
          }
        },
      );
    },
  };
}

/** A tool that only reads; annotated `readOnlyHint: true`. */
export function readTool<I extends StandardSchemaWithJSON, Out extends Record<string, unknown>>(name: string, spec: ToolSpec<I, Out>, run: ToolRun<I, Out>): SampleTool {
  return defineTool('read', name, spec, run);
}

/** A tool that changes data; annotated destructive and allowed only with the server's write role (or executive). */
export function writeTool<I extends StandardSchemaWithJSON, Out extends Record<string, unknown>>(name: string, spec: ToolSpec<I, Out>, run: ToolRun<I, Out>): SampleTool {
  return defineTool('write', name, spec, run);
}
