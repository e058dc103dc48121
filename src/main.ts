import 'reflect-metadata';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import { configureApp } from './app.setup';
import { TokenService } from './auth/token.service';
import { EnvironmentVariables } from './config/env.validation';
import { prepareRuntime } from './config/runtime';

async function bootstrap(): Promise<void> {
  const runtime = await prepareRuntime();
  const app = configureApp(await NestFactory.create(AppModule.forRoot(), { bufferLogs: true }));
  const port = app.get(ConfigService<EnvironmentVariables, true>).get('PORT', { infer: true });
  await app.listen(port);

  const base = `http://localhost:${port}`;
  console.log(
    `netra-backend listening on ${base} (docs: ${base}/docs, WebSocket: ws://localhost:${port}/ws)`,
  );
  if (runtime.embedded) console.log(`Using the embedded PostgreSQL (data in ${runtime.dataDir})`);
  if (runtime.generatedSecret) {
    const token = await app.get(TokenService).sign('dev-user');
    console.log(
      `Development token for user "dev-user" (secret kept in ${runtime.dataDir}):\n${token}`,
    );
  }

  // Stop the embedded database after Nest has closed its connections.
  if (runtime.embedded) {
    const embedded = runtime.embedded;
    process.once('beforeExit', () => void embedded.stop());
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        void app
          .close()
          .then(() => embedded.stop())
          .finally(() => process.exit(0));
      });
    }
  }
}

bootstrap().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : JSON.stringify(err));
  process.exit(1);
});
