import { PartialTurn, RepeatFilter } from './repeat-filter';

const partial = (text: string, thinking = ''): PartialTurn => ({
  agent: 'supervisor',
  step: 1,
  afterSeq: 3,
  text: { agent_thinking: thinking, agent_response_chunk: text },
});

describe('RepeatFilter', () => {
  it('passes only what goes beyond the partial text, however the new attempt splits it', () => {
    const filter = new RepeatFilter(partial('The answer is 3'));

    const passed = ['The ', 'answer', ' is 39', '1.'].map((t) =>
      filter.pass('agent_response_chunk', t),
    );

    expect(passed).toEqual([{ text: '' }, { text: '' }, { text: '9' }, { text: '1.' }]);
    expect(filter.finish()).toBeNull();
  });

  it('keeps the reasoning and the text apart', () => {
    const filter = new RepeatFilter(partial('Hel', 'Let me see'));

    expect(filter.pass('agent_thinking', 'Let me see.')).toEqual({ text: '.' });
    expect(filter.pass('agent_response_chunk', 'Hello')).toEqual({ text: 'lo' });
    expect(filter.finish()).toBeNull();
  });

  it('drops the partial text when the new attempt departs from it, replaying the attempt so far', () => {
    const filter = new RepeatFilter(partial('The answer is 3', 'Hmm'));

    expect(filter.pass('agent_thinking', 'Hmm')).toEqual({ text: '' });
    expect(filter.pass('agent_response_chunk', 'The ')).toEqual({ text: '' });
    expect(filter.pass('agent_response_chunk', 'result')).toEqual({
      dropped: true,
      replay: [
        { kind: 'agent_thinking', text: 'Hmm' },
        { kind: 'agent_response_chunk', text: 'The result' },
      ],
    });
    // From then on everything passes.
    expect(filter.pass('agent_response_chunk', ' is 4.')).toEqual({ text: ' is 4.' });
    expect(filter.finish()).toBeNull();
  });

  it('drops the partial text when the new attempt ends short of it', () => {
    const filter = new RepeatFilter(partial('The answer is 391.'));

    expect(filter.pass('agent_response_chunk', 'The answer')).toEqual({ text: '' });
    expect(filter.finish()).toEqual({
      dropped: true,
      replay: [{ kind: 'agent_response_chunk', text: 'The answer' }],
    });
  });

  it('passes everything of a kind the partial turn had none of', () => {
    const filter = new RepeatFilter(partial('', 'Thinking'));

    expect(filter.pass('agent_thinking', 'Thinking')).toEqual({ text: '' });
    expect(filter.pass('agent_response_chunk', 'Answer')).toEqual({ text: 'Answer' });
    expect(filter.finish()).toBeNull();
  });
});
