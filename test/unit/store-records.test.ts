/**
 * The store's wire format (issue 8, item 9): key strings are shared by every replica of a rolling
 * deploy, so they are pinned here; records carry a version, and one that does not parse is treated
 * as absent (and logged), never thrown.
 */
import { describe, expect, it } from 'vitest';
import {
  CHANNELS,
  confirmationRecordSchema,
  decodeControl,
  decodeRecord,
  encodeControl,
  encodeRecord,
  KEYS,
  RATE_LIMIT_PREFIXES,
  RECORD_VERSION,
  runRecordSchema,
} from '../../src/store/records.js';

function recordingLogger(): { lines: string[]; warn(details: object, message: string): void; info(details: object, message: string): void } {
  const lines: string[] = [];
  return { lines, warn: (_details, message) => void lines.push(message), info: () => undefined };
}

const run = { id: 'r1', sub: 'u1', conversationId: 'c1', status: 'running', messages: [{ role: 'user', content: 'hi' }], iteration: 0, createdAtMs: 1, deadlineAtMs: 2 };

describe('key families', () => {
  it('are the strings every released version uses', () => {
    expect({
      run: KEYS.run('R'),
      runLog: KEYS.runLog('R'),
      runLease: KEYS.runLease('R'),
      runReaders: KEYS.runReaders('R'),
      runSettled: KEYS.runSettled('R'),
      runElicitation: KEYS.runElicitation('E'),
      runElicitationAnswer: KEYS.runElicitationAnswer('E'),
      confirmation: KEYS.confirmation('C'),
      confirmationDecided: KEYS.confirmationDecided('C'),
      confirmationResult: KEYS.confirmationResult('C'),
      revocations: KEYS.revocations,
      conversation: KEYS.conversation('V'),
      conversationIndex: KEYS.conversationIndex('U'),
      audit: KEYS.audit,
      pin: KEYS.pin('hr', 'get_employee'),
      tokens: KEYS.tokens('U', '2026-01-31'),
      rlAnonymous: RATE_LIMIT_PREFIXES.anonymous,
      rlApi: RATE_LIMIT_PREFIXES.api('default'),
      rlQuery: RATE_LIMIT_PREFIXES.query('default'),
      chRevocations: CHANNELS.revocations,
      chRunControl: CHANNELS.runControl('R'),
      chRunElicitation: CHANNELS.runElicitation('E'),
    }).toEqual({
      run: 'run:R',
      runLog: 'run-log:R',
      runLease: 'run-lease:R',
      runReaders: 'run-readers:R',
      runSettled: 'run-settled:R',
      runElicitation: 'run-elicit:E',
      runElicitationAnswer: 'run-elicit-answer:E',
      confirmation: 'confirm:C',
      confirmationDecided: 'confirm-decided:C',
      confirmationResult: 'confirm-result:C',
      revocations: 'revocations',
      conversation: 'conversation:V',
      conversationIndex: 'conversations:U',
      audit: 'audit',
      pin: 'pin:hr:get_employee',
      tokens: 'tokens:U:2026-01-31',
      rlAnonymous: 'rl:anon',
      rlApi: 'rl:api:default',
      rlQuery: 'rl:query:default',
      chRevocations: 'revocations',
      chRunControl: 'run-ctl:R',
      chRunElicitation: 'run-elicit:E',
    });
  });
});

describe('records', () => {
  it('are written with their version and read back without it', () => {
    const raw = encodeRecord(run);
    expect(JSON.parse(raw)).toMatchObject({ v: RECORD_VERSION, id: 'r1' });
    expect(decodeRecord(runRecordSchema, raw, 'run:r1', recordingLogger())).toEqual(run);
  });

  it('written before versions existed (no v) read as version 1', () => {
    expect(decodeRecord(runRecordSchema, JSON.stringify(run), 'run:r1', recordingLogger())).toEqual(run);
  });

  it('that are missing, not JSON, of the wrong shape or of an unknown version are absent, and logged', () => {
    const log = recordingLogger();
    expect(decodeRecord(runRecordSchema, null, 'run:x', log)).toBeUndefined();
    expect(log.lines).toHaveLength(0);
    expect(decodeRecord(runRecordSchema, '{not json', 'run:x', log)).toBeUndefined();
    expect(decodeRecord(runRecordSchema, JSON.stringify({ ...run, status: 'dancing' }), 'run:x', log)).toBeUndefined();
    expect(decodeRecord(runRecordSchema, JSON.stringify({ ...run, v: 2 }), 'run:x', log)).toBeUndefined();
    expect(decodeRecord(confirmationRecordSchema, JSON.stringify({ id: 'c' }), 'confirm:c', log)).toBeUndefined();
    expect(log.lines).toHaveLength(4);
  });
});

describe('control messages', () => {
  it('round-trip, and read the unversioned form older replicas send', () => {
    expect(decodeControl(encodeControl({ kind: 'detach', origin: 'replica-1' }))).toEqual({ kind: 'detach', origin: 'replica-1' });
    expect(encodeControl({ kind: 'attach', origin: 'a' }).split(':').slice(0, 2)).toEqual(['attach', 'a']);
    expect(decodeControl('cancel:replica-2')).toEqual({ kind: 'cancel', origin: 'replica-2' });
  });

  it('that are unknown or of another version are ignored', () => {
    expect(decodeControl('explode:replica')).toBeUndefined();
    expect(decodeControl('attach')).toBeUndefined();
    expect(decodeControl('attach:replica:9')).toBeUndefined();
  });
});
