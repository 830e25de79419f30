/** A tool-level failure: answered as a result with `isError: true` (the model reads it), never as a protocol error. */
export class ToolFailure extends Error {
  override readonly name = 'ToolFailure';
}
