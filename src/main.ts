import 'reflect-metadata';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import { configureApp } from './app.setup';
import { TokenService } from './auth/token.service';
import { EnvironmentVariables } from './config/env.validation';
import { prepareRuntime } from './config/runtime';
import { isDatabaseUnavailable } from './database/db-errors';
import { Lifecycle } from './health/lifecycle';
import { startTracing } from './tracing/tracing';

// One way out: SIGTERM (or SIGINT) drains (ready turns 503, the runs in hand finish or are handed
// back, then sockets and streams close), closes the app, then stops the embedded database. A
// second signal, or one before the app is up, exits at once: the queue hands this instance's runs
// to another one, and the embedded database is stopped on exit. Ctrl-C in a terminal reaches the
// embedded PostgreSQL too (it runs in the same process group) and stops it at once, so with it
// SIGINT exits at once as well: the runs in hand continue at the next start.
let stop: ((signal: NodeJS.Signals) => void) | undefined;
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping || !stop) process.exit(1);
    stopping = true;
    stop(signal);
  });
}

async function bootstrap(): Promise<void> {
  // Spans are exported only with OTEL_EXPORTER_OTLP_ENDPOINT set.
  const tracing = startTracing();
  const runtime = await prepareRuntime();
  // The chat's one-click development token exists only with the generated development secret.
  const root = AppModule.forRoot(undefined, { developmentTokens: runtime.generatedSecret });
  const app = configureApp(await NestFactory.create(root, { bufferLogs: true }));
  stop = (signal) => {
    if (signal === 'SIGINT' && runtime.embedded) process.exit(130);
    app.get(Lifecycle).drain();
    void app
      .close()
      .then(() => tracing?.shutdown())
      .then(() => runtime.embedded?.stop())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          console.error(`Shutdown failed: ${String(err)}`);
          process.exit(1);
        },
      );
  };
  const config = app.get(ConfigService<EnvironmentVariables, true>);
  const port = config.get('PORT', { infer: true });
  await app.listen(port);

  const base = `http://localhost:${port}`;
  console.log(
    `netra-backend (${config.get('APP_ROLE', { infer: true })}) listening on ${base} ` +
      `(docs: ${base}/docs, WebSocket: ws://localhost:${port}/ws)`,
  );
  if (runtime.embedded) {
    console.log(`Using the embedded PostgreSQL (data in ${runtime.embedded.dataDir})`);
  }
  if (runtime.generatedSecret) {
    const token = await app.get(TokenService).sign('dev-user');
    console.log(
      `Development token for user "dev-user" (secret kept in ${runtime.dataDir}):\n${token}`,
    );
  }
}

// The process stays up through a database outage: a promise nobody waited for is logged, not
// fatal; so is a database connection that fails where no one listens (pg-boss lets go of its
// listening connection's error handler before the connection has ended, and a server shutting
// down then reports to nobody). Any other uncaught exception still ends the process.
process.on('unhandledRejection', (reason) => {
  console.error(`Unhandled rejection: ${reason instanceof Error ? reason.stack : String(reason)}`);
});
process.on('uncaughtException', (err) => {
  if (isDatabaseUnavailable(err)) {
    console.error(`A database connection failed outside any request: ${err.message}`);
    return;
  }
  console.error(err.stack ?? String(err));
  process.exit(1);
});

bootstrap().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : JSON.stringify(err));
  process.exit(1);
});
