// RunAgentInput as the OpenAPI document shows it: the top level only. The protocol defines the
// full schema (messages, tools, context, resume) and the route validates against it
// (@ag-ui/core's RunAgentInputSchema); repeating all of it here would drift from it.
export const RUN_AGENT_INPUT_SCHEMA = {
  type: 'object',
  description:
    "AG-UI's RunAgentInput (https://docs.ag-ui.com/sdk/js/core/types#runagentinput). The " +
    "newest user message is the run's query; tools, context, state and forwardedProps are " +
    'accepted and not used by the agents (see docs/channels.md).',
  required: ['threadId', 'runId', 'messages'],
  additionalProperties: true,
  properties: {
    threadId: {
      type: 'string',
      format: 'uuid',
      description: 'The thread: one of yours, or a new id (it is created)',
    },
    runId: {
      type: 'string',
      description: "The run's client id: the same runId again is the same run (a reconnect)",
    },
    messages: {
      type: 'array',
      items: { type: 'object', additionalProperties: true },
      description: 'AG-UI messages; the last with role `user` is the query',
    },
    resume: {
      type: 'array',
      description: 'Answers to the interrupts the previous run ended with',
      items: {
        type: 'object',
        required: ['interruptId', 'status'],
        properties: {
          interruptId: { type: 'string', format: 'uuid' },
          status: { type: 'string', enum: ['resolved', 'cancelled'] },
          payload: {
            type: 'object',
            properties: {
              decision: { type: 'string', enum: ['approve', 'reject'], default: 'approve' },
              message: { type: 'string', maxLength: 2000 },
            },
          },
        },
      },
    },
    tools: { type: 'array', items: { type: 'object', additionalProperties: true } },
    context: { type: 'array', items: { type: 'object', additionalProperties: true } },
    state: {},
    forwardedProps: {},
  },
};
