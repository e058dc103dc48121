import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { NextFunction, Request, Response } from 'express';
import { requestIdOf } from '../common/request-id';
import { redactUrl } from '../logging/redact';
import { RUN_ID, tracer, USER_ID } from '../tracing/tracer';
import { httpDuration, since } from './metrics';

// Every HTTP request: a server span (the active one while Nest handles it, so the spans it
// starts are its children) and its duration by route pattern and status. Labelled by pattern,
// not path: /api/agent/{id}/status is one series, not one per run.
export function observeHttp(req: Request, res: Response, next: NextFunction): void {
  const started = performance.now();
  const span = tracer().startSpan(`HTTP ${req.method}`, {
    kind: SpanKind.SERVER,
    attributes: {
      'http.request.method': req.method,
      'url.path': redactUrl(req.originalUrl.split('?')[0]),
      'netra.request_id': requestIdOf(req),
    },
  });
  let done = false;
  const finish = (aborted: boolean): void => {
    if (done) return;
    done = true;
    const route = routeOf(req);
    httpDuration.observe(
      { method: req.method, route, status: String(res.statusCode) },
      since(started),
    );
    span.updateName(`${req.method} ${route}`);
    span.setAttributes({ 'http.route': route, 'http.response.status_code': res.statusCode });
    if (req.user?.id) span.setAttribute(USER_ID, req.user.id);
    // A run named by its id in the path (a client run id is left to the handler, which resolves it).
    const runId = (req.params as Record<string, unknown> | undefined)?.run_id;
    if (typeof runId === 'string' && UUID.test(runId)) span.setAttribute(RUN_ID, runId);
    if (res.statusCode >= 500 || aborted) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: aborted ? 'aborted' : undefined });
    }
    span.end();
  };
  res.once('finish', () => finish(false));
  res.once('close', () => finish(!res.writableFinished));
  context.with(trace.setSpan(context.active(), span), next);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function routeOf(req: Request): string {
  const path = (req.route as { path?: unknown } | undefined)?.path;
  return typeof path === 'string' ? path : 'unmatched';
}
