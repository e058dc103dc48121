import { INestApplication } from '@nestjs/common';
import type { Request, Response } from 'express';
import { AsyncApiDocument, createAsyncApiDocument } from './asyncapi.document';
import { renderAsyncApiPage } from './asyncapi.page';

// The AsyncAPI document of /ws at `/<path>-json` and as a page at `/<path>`, as SwaggerModule.setup
// serves the OpenAPI one: routes of the HTTP adapter, outside Nest's controllers, so they are in no
// OpenAPI document. Made on the first request (the app's modules are all there by then), once.
export function setupAsyncApi(app: INestApplication, path: string): void {
  let document: AsyncApiDocument | undefined;
  let page: string | undefined;
  const documentOf = () => (document ??= createAsyncApiDocument(app));
  const http = app.getHttpAdapter();
  http.get(`/${path}-json`, (_req: Request, res: Response) => {
    res.json(documentOf());
  });
  http.get(`/${path}`, (_req: Request, res: Response) => {
    res.type('html').send((page ??= renderAsyncApiPage(documentOf())));
  });
}
