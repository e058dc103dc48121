import { DynamicModule, Inject, Logger, Module, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { ExpressAdapter } from '@nestjs/platform-express';
import type { Application, NextFunction, Request, Response } from 'express';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { AuthModule } from '../auth/auth.module';
import { DevTokenController, servesDevelopmentTokenTo } from './dev-token.controller';

// Where `npm run build` puts the chat (web/build.mjs): web/dist, which `nest build` leaves alone.
// Two folders up from the TypeScript sources (src/web, in tests), three from the compiled app
// (dist/src/web).
const WEB_DIST_CANDIDATES = [
  join(__dirname, '..', '..', 'web', 'dist'),
  join(__dirname, '..', '..', '..', 'web', 'dist'),
];

// How the page learns that this server hands it development tokens (web/index.html, read by
// web/src/session.ts): the page as built says "off".
const NO_OFFER = '<meta name="netra-development-tokens" content="off" />';
const OFFER = '<meta name="netra-development-tokens" content="on" />';

export interface WebOptions {
  // Only while the app signs with the development secret it generated itself (see prepareRuntime),
  // which production never does: POST /api/dev-token then hands the page a token for `dev-user`.
  developmentTokens?: boolean;
}

const WEB_OPTIONS = Symbol('WebOptions');

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
      providers: [{ provide: WEB_OPTIONS, useValue: options }],
    };
  }

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(WEB_OPTIONS) private readonly options: WebOptions,
  ) {}

  onModuleInit(): void {
    const dir = WEB_DIST_CANDIDATES.find((d) => existsSync(join(d, 'index.html')));
    if (!dir) {
      this.logger.warn('The browser chat is not built (web/dist): `npm run build` builds it');
      return;
    }
    // An application context without HTTP (a test of the stores, a script) serves nothing.
    const adapter = this.adapterHost.httpAdapter as ExpressAdapter | undefined;
    if (!adapter) return;
    if (this.options.developmentTokens) this.serveOfferingPage(adapter, join(dir, 'index.html'));
    adapter.useStaticAssets(dir, {
      index: 'index.html',
      // The bundle's names do not change between builds: revalidate (ETag) instead of caching.
      setHeaders: (res: ServerResponse) => {
        res.setHeader('Cache-Control', 'no-cache');
      },
    });
  }

  // The page shows "Use development token" only where its route answers: the server says so in the
  // page itself, to the clients the route serves. Not a request of the page's to ask (one more
  // round trip before the form is complete), nor a probe of the route (a 404 in the console of
  // every production page, and a POST that would mint a token nobody asked for). A server without
  // the route serves the page as built, which offers nothing. Read at each request, so
  // `node web/build.mjs --watch` is seen at once.
  private serveOfferingPage(adapter: ExpressAdapter, file: string): void {
    if (!readFileSync(file, 'utf8').includes(NO_OFFER)) {
      this.logger.warn(`${file} has no ${NO_OFFER}: the development token is not offered`);
    }
    const serve = (req: Request, res: Response, next: NextFunction) => {
      readFile(file, 'utf8').then(
        (page) => {
          res.setHeader('Cache-Control', 'no-cache');
          // (Express computes the ETag and answers a matching If-None-Match with 304.)
          const offered = servesDevelopmentTokenTo(req);
          res.type('html').send(offered ? page.replace(NO_OFFER, OFFER) : page);
        },
        // Unreadable (a rebuild under way): the static files answer.
        () => next(),
      );
    };
    adapter.getInstance<Application>().get(['/', '/index.html'], serve);
  }
}
