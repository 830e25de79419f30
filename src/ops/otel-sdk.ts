/**
 * OpenTelemetry export by convention: when OTEL_EXPORTER_OTLP_ENDPOINT (or the traces-specific
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set, the Node tracer provider is registered with an OTLP/HTTP
 * exporter configured by the standard OTEL_* variables (service name and resource attributes, sampler,
 * batch processor, headers, protocol http/protobuf or http/json). When neither is set nothing here loads:
 * the SDK modules are imported dynamically, so start-up without export stays as fast as before.
 */
import { diag } from '@opentelemetry/api';

/** Flushes the last spans and stops exporting. */
export type TelemetryShutdown = () => Promise<void>;

const DEFAULT_SERVICE_NAME = 'mcp-gateway';

export function exportRequested(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  if ((env.OTEL_TRACES_EXPORTER ?? '').trim().toLowerCase() === 'none') return false;
  return (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT ?? '').trim() !== '';
}

function protocolOf(env: NodeJS.ProcessEnv): 'http/protobuf' | 'http/json' {
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf').trim();
  if (protocol === 'http/json' || protocol === 'http/protobuf') return protocol;
  // grpc would need a second transport stack; the collector's OTLP/HTTP port takes the same data.
  diag.warn(`OTEL_EXPORTER_OTLP_PROTOCOL=${protocol} is not supported by the gateway; exporting with http/protobuf`);
  return 'http/protobuf';
}

/**
 * Starts trace export when the environment asks for it; returns how to stop it, or undefined when
 * export is off. The exporter reads its endpoint, headers, timeout and compression from the environment.
 */
export async function startTelemetry(env: NodeJS.ProcessEnv = process.env): Promise<TelemetryShutdown | undefined> {
  if (!exportRequested(env)) return undefined;
  const [{ NodeTracerProvider, BatchSpanProcessor }, { defaultResource, detectResources, envDetector, resourceFromAttributes }] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/resources'),
  ]);
  const { OTLPTraceExporter } =
    protocolOf(env) === 'http/json' ? await import('@opentelemetry/exporter-trace-otlp-http') : await import('@opentelemetry/exporter-trace-otlp-proto');
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override the gateway's default service name.
  const resource = defaultResource()
    .merge(resourceFromAttributes({ 'service.name': DEFAULT_SERVICE_NAME }))
    .merge(detectResources({ detectors: [envDetector] }));
  // The sampler (OTEL_TRACES_SAMPLER, _ARG) and the batch limits (OTEL_BSP_*) are read by the SDK itself.
  const provider = new NodeTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())] });
  // Also installs the async-context manager and the W3C trace-context propagator.
  provider.register();
  return () => provider.shutdown();
}
