/**
 * The slice of a structured logger (pino / Fastify) the store needs. Kept structural so the store
 * does not depend on the ops layer.
 */
export interface StoreLogger {
  warn(details: object, message: string): void;
  info(details: object, message: string): void;
}

export const silentLogger: StoreLogger = { warn: () => undefined, info: () => undefined };
