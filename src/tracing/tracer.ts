import { Attributes, Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';

// The app's spans. Without a tracer provider (OTEL_EXPORTER_OTLP_ENDPOINT unset, see tracing.ts)
// the API hands out no-op spans: tracing then costs next to nothing.
export const tracer = () => trace.getTracer('netra-backend');

// Runs `work` in a span of its own, the active one while it runs (spans it starts are its
// children); the span records a thrown error and ends with the work.
export async function inSpan<T>(
  name: string,
  attributes: Attributes,
  work: (span: Span) => Promise<T>,
  kind: SpanKind = SpanKind.INTERNAL,
): Promise<T> {
  return tracer().startActiveSpan(name, { attributes, kind }, async (span) => {
    try {
      return await work(span);
    } catch (err) {
      span.recordException(err instanceof Error ? err : String(err));
      span.setStatus({ code: SpanStatusCode.ERROR, message: String(err) });
      throw err;
    } finally {
      span.end();
    }
  });
}

// Attribute names, so every span of a run can be found by its id.
export const RUN_ID = 'netra.run_id';
export const USER_ID = 'enduser.id';
