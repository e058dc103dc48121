import { ArgumentsHost, Catch, ExceptionFilter, HttpException } from '@nestjs/common';
import type { Request, Response } from 'express';
import { RETRY_AFTER_SECONDS, toErrorPayload } from './error-response';
import { requestIdOf } from './request-id';

@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    // WebSocket frames are answered by the gateway itself; this filter is for HTTP only.
    if (host.getType() !== 'http') throw exception;
    const http = host.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    const { status, payload } = toErrorPayload(exception, requestIdOf(req));
    // An SSE stream that already started can only be ended, not given a status.
    if (res.headersSent) {
      res.end();
      return;
    }
    if (status === 503) res.setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
    if (payload.retry_after_ms !== undefined) {
      res.setHeader('Retry-After', String(Math.ceil(payload.retry_after_ms / 1000)));
    }
    // A failed health check says which of its checks failed (terminus's own body).
    if (exception instanceof HttpException && isHealthReport(exception.getResponse())) {
      res.status(status).json(exception.getResponse());
      return;
    }
    res.status(status).json({ statusCode: status, ...payload });
  }
}

function isHealthReport(body: unknown): boolean {
  return typeof body === 'object' && body !== null && 'details' in body && 'status' in body;
}
