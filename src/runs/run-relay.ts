/**
 * What a tool server asks back during one of an agent run's tool calls goes to the run: an
 * elicitation to the run's owner (run-elicitations.ts), a sampling request to the gateway's model
 * (run-sampling.ts). Roots are refused (a run has no roots to share); log messages are not relayed.
 * Each tool call gets its own relay, closed when the call ends, so nothing waits past its call.
 */
import { ProtocolError, ProtocolErrorCode, type InputRequest, type InputResponse } from '@modelcontextprotocol/client';
import type { CallRelay } from '../upstream/call-context.js';
import type { RunElicitations } from './run-elicitations.js';
import type { RunSampling, SamplingCall } from './run-sampling.js';

export interface RunCallRelay {
  readonly relay: CallRelay;
  /** The call ended: whatever still waits for an answer is withdrawn. */
  close(): void;
}

export class RunRelays {
  constructor(
    private readonly elicitations: RunElicitations,
    private readonly sampling: RunSampling,
  ) {}

  /** The relay of one tool call; `signal` is the run's (cancelling the run withdraws what waits). */
  open(call: SamplingCall, signal: AbortSignal): RunCallRelay {
    const ended = new AbortController();
    const relay: CallRelay = {
      logLevel: () => undefined,
      log: () => undefined,
      request: (request: InputRequest, requestSignal: AbortSignal): Promise<InputResponse> => {
        const waiting = AbortSignal.any([requestSignal, signal, ended.signal]);
        if (request.method === 'elicitation/create') {
          // The gateway declares form mode only; a URL elicitation has no place in a run.
          if (request.params.mode === 'url') return Promise.reject(new ProtocolError(ProtocolErrorCode.InvalidParams, 'Only form elicitation is supported'));
          return this.elicitations.ask(call, request.params, waiting);
        }
        if (request.method === 'sampling/createMessage') return this.sampling.serve(call, request.params, waiting);
        return Promise.reject(new ProtocolError(ProtocolErrorCode.MethodNotFound, `${request.method} is not available in an agent run`));
      },
    };
    return { relay, close: () => ended.abort(new Error('the tool call ended')) };
  }
}
