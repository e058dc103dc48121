import { ToolContext } from './agent-tool';

// The context a tool gets in a run, for unit tests of tools.
export function toolContext(signal: AbortSignal = new AbortController().signal): ToolContext {
  return {
    userId: 'user-1',
    runId: 'run-1',
    threadId: 'thread-1',
    agentName: 'supervisor',
    callId: 'call_1_1',
    signal,
  };
}
