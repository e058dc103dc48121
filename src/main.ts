import 'reflect-metadata';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import { configureApp } from './app.setup';
import { TokenService } from './auth/token.service';
import { EnvironmentVariables } from './config/env.validation';
import { prepareRuntime } from './config/runtime';
import { Lifecycle } from './health/lifecycle';

async function bootstrap(): Promise<void> {
  const runtime = await prepareRuntime();
  const app = configureApp(await NestFactory.create(AppModule.forRoot(), { bufferLogs: true }));
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

  // One way out: SIGTERM or SIGINT drains (ready turns 503, the runs in hand finish or are handed
  // back, then sockets and streams close), closes the app, then stops the embedded database. A
  // second signal exits at once; the queue hands this instance's runs to another one.
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) process.exit(1);
      stopping = true;
      app.get(Lifecycle).drain();
      void app
        .close()
        .then(() => runtime.embedded?.stop())
        .then(
          () => process.exit(0),
          (err: unknown) => {
            console.error(`Shutdown failed: ${String(err)}`);
            process.exit(1);
          },
        );
    });
  }
}

// The process stays up through a database outage: a promise nobody waited for is logged, not
// fatal.
process.on('unhandledRejection', (reason) => {
  console.error(`Unhandled rejection: ${reason instanceof Error ? reason.stack : String(reason)}`);
});

bootstrap().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : JSON.stringify(err));
  process.exit(1);
});
