// A small recursive-descent evaluator for + - * / % ^ and parentheses. No eval(): the input comes
// from a model, which takes it from a user.
export function evaluateArithmetic(expression: string): number {
  const tokens = expression.match(/\d+(?:\.\d+)?|\.\d+|[-+*/%^()]|\S/g) ?? [];
  let pos = 0;
  const peek = (): string | undefined => tokens[pos];
  const take = (): string | undefined => tokens[pos++];

  const expr = (): number => {
    let value = term();
    while (peek() === '+' || peek() === '-')
      value = take() === '+' ? value + term() : value - term();
    return value;
  };
  const term = (): number => {
    let value = unary();
    for (;;) {
      const op = peek();
      if (op !== '*' && op !== '/' && op !== '%') return value;
      take();
      const right = unary();
      if ((op === '/' || op === '%') && right === 0) throw new Error('division by zero');
      value = op === '*' ? value * right : op === '/' ? value / right : value % right;
    }
  };
  // A sign binds looser than ^, as in mathematics: -2^2 = -(2^2), and 2^-1 is allowed.
  const unary = (): number => {
    if (peek() === '-') {
      take();
      return -unary();
    }
    if (peek() === '+') {
      take();
      return unary();
    }
    return power();
  };
  const power = (): number => {
    const base = primary();
    if (peek() !== '^') return base;
    take();
    return base ** unary(); // right-associative
  };
  const primary = (): number => {
    const token = take();
    if (token === '(') {
      const value = expr();
      if (take() !== ')') throw new Error('missing closing parenthesis');
      return value;
    }
    if (token !== undefined && /^(\d|\.\d)/.test(token)) return Number(token);
    throw new Error(token === undefined ? 'unexpected end of expression' : `unexpected "${token}"`);
  };

  if (tokens.length === 0) throw new Error('empty expression');
  const value = expr();
  if (pos < tokens.length) throw new Error(`unexpected "${tokens[pos]}"`);
  if (!Number.isFinite(value)) throw new Error('the result is not a finite number');
  return value;
}
