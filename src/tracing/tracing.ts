import { NodeSDK } from '@opentelemetry/sdk-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';

// Traces leave the process only when OTEL_EXPORTER_OTLP_ENDPOINT is set (OTLP over HTTP, to a
// collector, Jaeger, Tempo...; the exporter reads the standard OTEL_* variables). Started before
// the app so every span of it is recorded. `processors` is for tests (an in-memory exporter).
export function startTracing(processors?: SpanProcessor[]): NodeSDK | null {
  if (!processors && !process.env.OTEL_EXPORTER_OTLP_ENDPOINT) return null;
  const sdk = new NodeSDK({
    serviceName: process.env.OTEL_SERVICE_NAME ?? 'netra-backend',
    ...(processors ? { spanProcessors: processors } : { traceExporter: new OTLPTraceExporter() }),
    // Spans are made by the app (HTTP requests, frames, runs, model and tool calls); no
    // auto-instrumentation of libraries.
    instrumentations: [],
  });
  sdk.start();
  return sdk;
}
