/** The simulated Anthropic Messages API (embedded demo and tests). */
export {
  startSimulatedAnthropic,
  type SimulatedAnthropicEvents,
  type SimulatedAnthropicHandle,
  type SimulatedAnthropicOptions,
  type SimulatedAnthropicStats,
} from './server.js';
export type { InjectableStatus } from './errors.js';
