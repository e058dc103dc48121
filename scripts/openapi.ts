// Writes openapi.json, the committed OpenAPI spec: `npm run openapi`. The e2e suite compares the
// served spec with it, so an API change shows up in review as a change to this file.
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { AppModule } from '../src/app.module';
import { configureApp } from '../src/app.setup';
import { createOpenApiDocument } from '../src/rest/openapi.document';
import { prepareRuntime } from '../src/config/runtime';

async function main(): Promise<void> {
  process.env.LOG_LEVEL ??= 'silent';
  const runtime = await prepareRuntime();
  const app = configureApp(await NestFactory.create(AppModule.forRoot(), { bufferLogs: true }));
  try {
    await app.init();
    const document = createOpenApiDocument(app);
    const file = resolve(__dirname, '..', 'openapi.json');
    writeFileSync(file, `${JSON.stringify(document, null, 2)}\n`);
    console.log(`wrote ${file}`);
  } finally {
    await app.close();
    await runtime.embedded?.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
