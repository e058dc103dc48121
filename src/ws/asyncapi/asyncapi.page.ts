import { AsyncApiDocument } from './asyncapi.document';
import { escapeHtml as esc, inline, markdown } from './asyncapi.markdown';
import { isObject, JsonSchema, refName } from './asyncapi.schemas';
import { PAGE_STYLE } from './asyncapi.style';

type Node = JsonSchema;

const FACTS = ['format', 'default', 'minimum', 'maximum', 'minLength', 'maxLength', 'pattern'];
const text = (value: unknown): string => (typeof value === 'string' ? value : '');
const example = (e: Node) =>
  `<details><summary>Example: ${esc(text(e.name))}</summary><pre>${esc(JSON.stringify(e.payload, null, 2))}</pre></details>`;

// /docs/ws: the AsyncAPI document as one page of plain HTML, made from the document alone (what
// the page says is what the JSON says). No script and nothing from elsewhere: the app's CSP allows
// the inline <style> (helmet's style-src has 'unsafe-inline') and nothing else is needed.
export function renderAsyncApiPage(doc: AsyncApiDocument): string {
  return new Page(doc).render();
}

class Page {
  private readonly info: Node;
  private readonly components: Node;
  private readonly operations: [string, Node][];

  constructor(private readonly doc: AsyncApiDocument) {
    this.info = doc.info as Node;
    this.components = doc.components as Node;
    this.operations = Object.entries(doc.operations as Record<string, Node>);
  }

  render(): string {
    const received = this.operations.filter(([, op]) => op.action === 'receive');
    const sent = this.operations.filter(([, op]) => op.action === 'send');
    const title = `${text(this.info.title)} ${text(this.info.version)}`;
    return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${PAGE_STYLE}</style>
</head>
<body>
<header>
<h1>${esc(text(this.info.title))} <small>${esc(text(this.info.version))}</small></h1>
<p>AsyncAPI ${esc(text(this.doc.asyncapi))} · <a href="/docs/ws-json">the document as JSON</a> · <a href="/docs">the REST API</a></p>
</header>
<nav aria-label="Contents"><h2>Contents</h2>
<p><a href="#about">Connecting, frames, limits</a> · <a href="#servers">Servers</a> · <a href="#schemas">Schemas</a></p>
<h3>Client frames</h3>${this.links(received)}
<h3>Server frames</h3><ul>
<li><a href="#frame-ack"><code>ack</code></a></li><li><a href="#frame-pong"><code>pong</code></a></li>
${sent.map(([id, op]) => `<li><a href="#op-${esc(id)}">${inline(`\`${text(op.title)}\``)}</a> ${inline(text(op.summary))}</li>`).join('')}
</ul></nav>
<main>
<section id="about">${markdown(text(this.info.description))}</section>
<section id="servers"><h2>Servers</h2>${this.servers()}</section>
<section id="client-frames"><h2>Client frames</h2>${received.map(([id, op]) => this.clientFrame(id, op)).join('\n')}</section>
<section id="server-frames"><h2>Server frames</h2>
${this.genericAck()}
${this.message('pong', 'frame-pong')}
${sent.map(([id, op]) => this.serverOperation(id, op)).join('\n')}
</section>
<section id="schemas"><h2>Schemas</h2>${this.schemas()}</section>
</main>
</body>
</html>
`;
  }

  private links(operations: [string, Node][]): string {
    const items = operations.map(
      ([id, op]) =>
        `<li><a href="#op-${esc(id)}"><code>${esc(id)}</code></a> ${inline(text(op.summary))}</li>`,
    );
    return `<ul class="columns">${items.join('')}</ul>`;
  }

  private servers(): string {
    const rows = Object.entries(this.doc.servers as Record<string, Node>).map(
      ([name, server]) =>
        `<tr><td>${esc(name)}</td><td><code>${esc(`${text(server.protocol)}://${text(server.host)}/ws`)}</code></td>` +
        `<td>${inline(text(server.description))}</td></tr>`,
    );
    const schemes = Object.values(this.components.securitySchemes as Record<string, Node>).map(
      (scheme) => `<li>${inline(text(scheme.description))}</li>`,
    );
    return `<table><thead><tr><th>name</th><th>URL</th><th></th></tr></thead><tbody>${rows.join('')}</tbody></table>
<p>Credentials, any one of:</p><ul>${schemes.join('')}</ul>`;
  }

  private clientFrame(id: string, op: Node): string {
    const replies = ((op.reply as Node).messages as Node[]).map((ref) => this.resolve(ref));
    const answers = replies
      // error and pong have a section of their own, below.
      .filter((m) => m.name !== 'error' && m.name !== 'pong')
      .map((m) => this.message(text(m.name), `frame-${text(m.name)}`, 'h4'));
    return `<article id="op-${esc(id)}">
<h3><code>${esc(id)}</code></h3>
<p>${inline(text(op.summary))}</p><p>${inline(text(op.description))}</p>
${(op.messages as Node[]).map((ref) => this.frameBody(this.resolve(ref))).join('')}
<p class="answer">Answered by ${replies.map((m) => `<a href="#frame-${esc(text(m.name))}"><code>${esc(this.frameType(m))}</code></a>`).join(' or ')} with the same <code>request_id</code>.</p>
${answers.join('')}
</article>`;
  }

  private genericAck(): string {
    return `<article id="frame-ack"><h3><code>ack</code></h3>
<p>The answer to a request that succeeded: <code>{ "type": "ack", "request_id", "payload" }</code>, its payload what the REST twin returns. Each client frame above shows its own.</p></article>`;
  }

  private serverOperation(id: string, op: Node): string {
    const messages = (op.messages as Node[]).map((ref) => this.resolve(ref));
    return `<article id="op-${esc(id)}"><h3><code>${esc(text(op.title))}</code></h3>
<p>${inline(text(op.summary))}</p><p>${inline(text(op.description))}</p>
${messages.map((m) => `<div id="frame-${esc(text(m.name))}">${m.name === 'agent_update' ? this.frameBody(m, false) + this.eventTypes(m) : this.frameBody(m)}</div>`).join('')}
</article>`;
  }

  // A server frame of its own (pong, an ack): heading, schema, example.
  private message(name: string, anchor: string, level = 'h3'): string {
    const message = (this.components.messages as Record<string, Node>)[name];
    return `<div id="${esc(anchor)}" class="frame"><${level}><code>${esc(this.frameType(message))}</code> ${inline(text(message.summary))}</${level}>
${this.frameBody(message)}</div>`;
  }

  private frameBody(message: Node, withExamples = true): string {
    const examples = withExamples ? ((message.examples ?? []) as Node[]) : [];
    return `${this.table(message.payload as Node)}${examples.map(example).join('')}`;
  }

  // The event types, from the oneOf of agent_update's event: what each one's `data` carries.
  private eventTypes(message: Node): string {
    const payload = (message.payload as Node).properties as Record<string, Node>;
    const event = this.resolve(payload.payload);
    const rows = (event.oneOf as Node[]).map((ref) => {
      const variant = this.resolve(ref);
      const properties = variant.properties as Record<string, Node>;
      const type = text(properties.type.const);
      const shown = ((message.examples ?? []) as Node[]).filter((e) => e.name === type);
      return `<tr id="event-${esc(type)}"><td><code>${esc(type)}</code></td><td>${inline(text(variant.description))}${shown.map(example).join('')}</td><td>${this.table(properties.data)}</td></tr>`;
    });
    return `<h4>Event types</h4>
<table class="events"><thead><tr><th>type</th><th>when</th><th><code>data</code></th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
  }

  private schemas(): string {
    return Object.entries(this.components.schemas as Record<string, Node>)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(
        ([name, schema]) =>
          `<article id="schema-${esc(name)}"><h3>${esc(name)}</h3>${schema.description ? `<p>${inline(text(schema.description))}</p>` : ''}${this.table(schema)}</article>`,
      )
      .join('\n');
  }

  // A schema's fields as a table (nested objects as dotted names), or its type when it has none.
  private table(schema: Node): string {
    const rows = this.rows(schema, '', 0);
    if (rows.length === 0) return `<p class="type">${this.typeOf(schema)}</p>`;
    return `<table class="fields"><thead><tr><th>field</th><th>type</th><th>description</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
  }

  private rows(schema: Node, prefix: string, depth: number): string[] {
    const own = this.resolve(schema);
    const properties = own.properties as Record<string, Node> | undefined;
    if (!properties || depth > 3) return [];
    const required = (own.required ?? []) as string[];
    return Object.entries(properties).flatMap(([name, property]) => {
      const field = `${prefix}${name}`;
      const row =
        `<tr><td><code>${esc(field)}</code>${required.includes(name) ? '' : ' <span class="optional">optional</span>'}</td>` +
        `<td>${this.typeOf(property)}</td><td>${this.describe(property)}</td></tr>`;
      // A named schema is a link below the first level, where the table of its own has the rest.
      return [
        row,
        ...(property.$ref && depth > 0 ? [] : this.rows(property, `${field}.`, depth + 1)),
      ];
    });
  }

  private typeOf(schema: Node): string {
    if (typeof schema.$ref === 'string') {
      const name = refName(schema.$ref);
      return `<a href="#schema-${esc(name)}">${esc(name)}</a>`;
    }
    if ('const' in schema) return `<code>${esc(JSON.stringify(schema.const))}</code>`;
    const choices = (schema.oneOf ?? schema.anyOf ?? schema.allOf) as Node[] | undefined;
    if (choices) return choices.map((c) => this.typeOf(c)).join(' | ');
    const types = ([] as unknown[]).concat(schema.type ?? 'any').map(String);
    return types
      .map((type) => {
        if (type === 'array') return `${this.typeOf(isObject(schema.items) ? schema.items : {})}[]`;
        if (type === 'object' && isObject(schema.additionalProperties) && !schema.properties)
          return `map of ${this.typeOf(schema.additionalProperties)}`;
        return esc(type);
      })
      .join(' | ');
  }

  private describe(schema: Node): string {
    const code = (value: unknown) =>
      `<code>${esc(typeof value === 'string' ? value : JSON.stringify(value))}</code>`;
    const facts: string[] = [];
    if (Array.isArray(schema.enum)) facts.push(`one of ${schema.enum.map(code).join(', ')}`);
    for (const key of FACTS)
      if (schema[key] !== undefined) facts.push(`${key} ${code(schema[key])}`);
    if (Array.isArray(schema.examples) && schema.examples.length > 0)
      facts.push(`e.g. ${code(JSON.stringify(schema.examples[0]))}`);
    const own = inline(text(schema.description));
    const extra = facts.length ? `<span class="facts">${facts.join('; ')}</span>` : '';
    return [own, extra].filter(Boolean).join(' ');
  }

  private frameType(message: Node): string {
    const payload = this.resolve(message.payload as Node);
    const type = (payload.properties as Record<string, Node> | undefined)?.type;
    return text(type?.const) || text(message.name);
  }

  // A local $ref (#/a/b/c) of the document, followed until it is not one.
  private resolve(node: Node): Node {
    let current = node;
    for (let hops = 0; typeof current.$ref === 'string' && hops < 8; hops += 1) {
      const path = current.$ref.replace(/^#\//, '').split('/');
      current = path.reduce<Node>((at, key) => (at[key] ?? {}) as Node, this.doc);
    }
    return current;
  }
}
