import { RUN_EVENT_TYPES, RunEventType } from './run-event';

// JSON Schema of each event type's `data`, with an example: the one description of what an event
// carries, from which the OpenAPI document (RunEvent as a oneOf on `type`) and the AsyncAPI
// document of the WebSocket are both made. A new event type does not compile until it is here.
export interface EventDataSchema {
  description: string;
  schema: Record<string, unknown>;
  example: Record<string, unknown>;
}

const text = (description: string) => ({ type: 'string', description });
const int = (description: string) => ({ type: 'integer', description });
const json = (description: string) => ({ type: 'object', additionalProperties: true, description });
const object = (properties: Record<string, unknown>, optional: string[] = []) => ({
  type: 'object',
  properties,
  required: Object.keys(properties).filter((k) => !optional.includes(k)),
});

const TOOL_CALL = {
  tool: text('The tool called (`delegate` hands a task to a sub-agent)'),
  call_id: text("The model's id for the call; the same on every event of this call"),
  arguments: json('The arguments the tool was called with'),
};

const TOKENS = object({
  input_tokens: int('Tokens in'),
  output_tokens: int('Tokens out'),
});

// The run's token usage at its end, in total and per model.
const USAGE = {
  type: 'object',
  properties: {
    input_tokens: int('Tokens in, all models'),
    output_tokens: int('Tokens out, all models'),
    models: { type: 'object', additionalProperties: TOKENS, description: 'Per model' },
  },
  required: ['input_tokens', 'output_tokens', 'models'],
};
const USAGE_EXAMPLE = {
  input_tokens: 812,
  output_tokens: 64,
  models: { offline: { input_tokens: 812, output_tokens: 64 } },
};

export const RUN_EVENT_DATA: Record<RunEventType, EventDataSchema> = {
  agent_started: {
    description: 'An executor took the run (again, after a restart: see agent_resumed)',
    schema: object({
      agent: text('The agent running it'),
      model: text('The model it uses'),
      query: text('What the run was asked'),
    }),
    example: { agent: 'supervisor', model: 'offline', query: 'What is 17 * 23?' },
  },
  agent_thinking: {
    description: "A piece of the model's reasoning, streamed as it comes",
    schema: object({ text: text('The next piece'), step: int('The model turn, from 1') }),
    example: { text: 'The question needs calculator.', step: 1 },
  },
  agent_response_chunk: {
    description: 'A piece of the answer, streamed as it comes; the pieces of a step add up',
    schema: object({ text: text('The next piece'), step: int('The model turn, from 1') }),
    example: { text: '17 * 23 = 391.', step: 2 },
  },
  tool_executing: {
    description: 'A tool call starts (after its approval, when it needs one)',
    schema: object(TOOL_CALL),
    example: { tool: 'calculator', call_id: 'call_1_1', arguments: { expression: '17 * 23' } },
  },
  tool_progress: {
    description: 'A running tool says how far it has got',
    schema: object(
      {
        tool: TOOL_CALL.tool,
        call_id: TOOL_CALL.call_id,
        done: { type: 'number', description: 'Done so far' },
        total: { type: 'number', description: 'Out of this much, when known' },
        message: text('What it is doing, in words'),
      },
      ['total', 'message'],
    ),
    example: { tool: 'wait', call_id: 'call_1_1', done: 3, total: 10, message: '3 of 10 s' },
  },
  tool_completed: {
    description: 'A tool call ended, with its result or its error',
    schema: object({
      ...TOOL_CALL,
      result: { description: "The tool's result (JSON), or {error} when is_error" },
      is_error: { type: 'boolean', description: 'true when the call failed or was refused' },
    }),
    example: {
      tool: 'calculator',
      call_id: 'call_1_1',
      arguments: { expression: '17 * 23' },
      result: { expression: '17 * 23', value: 391 },
      is_error: false,
    },
  },
  approval_required: {
    description:
      'A tool call waits for a person: answer with POST /api/agent/{run_id}/approvals/' +
      '{interrupt_id} or the approve_tool frame. The run is requires_action until then',
    schema: object({
      interrupt_id: { type: 'string', format: 'uuid', description: 'What the answer names' },
      ...TOOL_CALL,
    }),
    example: {
      interrupt_id: '7d1e6a0c-3b7f-4f0e-9c55-2a9d1f3b8e21',
      tool: 'notify',
      call_id: 'call_1_1',
      arguments: { message: 'the build is done' },
    },
  },
  approval_resolved: {
    description: 'A person answered; the run goes on (the call runs, or the model is told no)',
    schema: object(
      {
        interrupt_id: { type: 'string', format: 'uuid' },
        tool: TOOL_CALL.tool,
        call_id: TOOL_CALL.call_id,
        decision: { type: 'string', enum: ['approve', 'reject'] },
        message: { type: 'string', nullable: true, description: "The person's note, if any" },
        decided_by: text('The user who answered'),
      },
      ['message'],
    ),
    example: {
      interrupt_id: '7d1e6a0c-3b7f-4f0e-9c55-2a9d1f3b8e21',
      tool: 'notify',
      call_id: 'call_1_1',
      decision: 'approve',
      message: null,
      decided_by: 'dev-user',
    },
  },
  agent_resumed: {
    description:
      'The run was picked up again after its executor stopped. partial "kept": what streamed of ' +
      'the step in flight stays, and the text that follows continues it. partial "dropped" (the ' +
      'new attempt answered differently): drop the text of the step streamed after after_seq; ' +
      'it is streamed again from its start',
    schema: object(
      {
        reason: text('Why'),
        after_seq: int('The last event before the interruption (kept), or before the dropped text'),
        partial: {
          type: 'string',
          enum: ['kept', 'dropped'],
          description:
            'What becomes of the partial text (absent on events of older versions: dropped)',
        },
      },
      ['partial'],
    ),
    example: { reason: 'the run was picked up again', after_seq: 4, partial: 'kept' },
  },
  agent_completed: {
    description: 'The run ended with an answer (terminal)',
    schema: object({ answer: text('The final answer, Markdown'), usage: USAGE }),
    example: { answer: '17 * 23 = 391.', usage: USAGE_EXAMPLE },
  },
  agent_error: {
    description: 'The run failed (terminal)',
    schema: object({
      message: text('What went wrong'),
      code: text(
        'Why, for programs: a model error (auth, rate_limited, unavailable, timeout, bad_response, rejected), step_limit, agent_failed or retries_exhausted',
      ),
      usage: USAGE,
    }),
    example: {
      message: 'The model provider is unavailable',
      code: 'unavailable',
      usage: USAGE_EXAMPLE,
    },
  },
  agent_cancelled: {
    description: 'The run was cancelled (terminal)',
    schema: object({ reason: text('Why'), usage: USAGE }),
    example: { reason: 'cancelled by user', usage: USAGE_EXAMPLE },
  },
};

export function eventSchemaName(type: RunEventType): string {
  const words = type.split('_').map((word) => word[0].toUpperCase() + word.slice(1));
  return `${words.join('')}Event`;
}

export interface EventSchemaDialect {
  // `type` fixed to one value, as the document's schema language says it.
  typeSchema(type: RunEventType): Record<string, unknown>;
  // The table's `data` schema and example, as the document's schema language says them.
  dataSchema(entry: EventDataSchema): Record<string, unknown>;
  // How it names the discriminator: OpenAPI an object with the mapping, AsyncAPI's schema format
  // the property's name.
  discriminator(mapping: Record<string, string>): unknown;
}

// RunEvent as a oneOf on `type` for the OpenAPI and the AsyncAPI documents alike: one schema per
// event type, named by eventSchemaName, with RunEvent's own fields and its `data` from the table.
export function runEventSchemas(
  base: { properties?: Record<string, unknown>; required?: string[] },
  dialect: EventSchemaDialect,
): { variants: Record<string, Record<string, unknown>>; runEvent: Record<string, unknown> } {
  const mapping: Record<string, string> = {};
  const variants: Record<string, Record<string, unknown>> = {};
  for (const type of RUN_EVENT_TYPES) {
    const name = eventSchemaName(type);
    mapping[type] = `#/components/schemas/${name}`;
    variants[name] = {
      type: 'object',
      description: RUN_EVENT_DATA[type].description,
      properties: {
        ...base.properties,
        type: dialect.typeSchema(type),
        data: dialect.dataSchema(RUN_EVENT_DATA[type]),
      },
      required: base.required,
    };
  }
  const runEvent = {
    description:
      'One event of a run, whichever way it travels (/events, SSE `data:`, WebSocket ' +
      '`agent_update`). `type` says which; `data` is typed per type.',
    oneOf: RUN_EVENT_TYPES.map((type) => ({ $ref: mapping[type] })),
    discriminator: dialect.discriminator(mapping),
  };
  return { variants, runEvent };
}
