import { DynamicModule, Logger, Module, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { ExpressAdapter } from '@nestjs/platform-express';
import { existsSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { AuthModule } from '../auth/auth.module';
import { DevTokenController } from './dev-token.controller';

// Where `npm run build` puts the chat (web/build.mjs): web/dist, which `nest build` leaves alone.
// Two folders up from the TypeScript sources (src/web, in tests), three from the compiled app
// (dist/src/web).
const WEB_DIST_CANDIDATES = [
  join(__dirname, '..', '..', 'web', 'dist'),
  join(__dirname, '..', '..', '..', 'web', 'dist'),
];

export interface WebOptions {
  // Only while the app signs with the development secret it generated itself (see prepareRuntime),
  // which production never does: POST /api/dev-token then hands the page a token for `dev-user`.
  developmentTokens?: boolean;
}

// The browser chat at `/`: the built files, served after every route (onModuleInit runs once the
// routers are registered, before the 404 handler), so a file can never shadow /api, /ws or /docs.
@Module({})
export class WebModule implements OnModuleInit {
  private readonly logger = new Logger('Web');

  static forRoot(options: WebOptions = {}): DynamicModule {
    return {
      module: WebModule,
      imports: options.developmentTokens ? [AuthModule] : [],
      controllers: options.developmentTokens ? [DevTokenController] : [],
    };
  }

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    const dir = WEB_DIST_CANDIDATES.find((d) => existsSync(join(d, 'index.html')));
    if (!dir) {
      this.logger.warn('The browser chat is not built (web/dist): `npm run build` builds it');
      return;
    }
    // An application context without HTTP (a test of the stores, a script) serves nothing.
    const adapter = this.adapterHost.httpAdapter as ExpressAdapter | undefined;
    if (!adapter) return;
    adapter.useStaticAssets(dir, {
      index: 'index.html',
      // The bundle's names do not change between builds: revalidate (ETag) instead of caching.
      setHeaders: (res: ServerResponse) => {
        res.setHeader('Cache-Control', 'no-cache');
      },
    });
  }
}
