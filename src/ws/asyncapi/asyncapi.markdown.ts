// The little CommonMark the document's descriptions use, as HTML: headings, paragraphs, lists,
// tables, `code`, **strong** and links to this site or https. Everything else is text, escaped:
// the descriptions are ours, but the page must stay inert whatever they hold.
export function markdown(text: string): string {
  return text
    .split(/\n{2,}/)
    .map((block) => {
      const lines = block.split('\n');
      const heading = /^(#{2,4}) (.*)$/.exec(block);
      if (heading)
        return `<h${heading[1].length + 1}>${inline(heading[2])}</h${heading[1].length + 1}>`;
      if (lines.every((line) => line.startsWith('- ')))
        return `<ul>${lines.map((line) => `<li>${inline(line.slice(2))}</li>`).join('')}</ul>`;
      if (lines.every((line) => line.startsWith('|'))) return table(lines);
      return `<p>${inline(block)}</p>`;
    })
    .join('\n');
}

function table(lines: string[]): string {
  const cells = (line: string) =>
    line
      .replace(/^\||\|$/g, '')
      .split('|')
      .map((cell) => inline(cell.trim()));
  const [head, , ...rows] = lines;
  return (
    `<table><thead><tr>${cells(head)
      .map((c) => `<th>${c}</th>`)
      .join('')}</tr></thead><tbody>` +
    rows
      .map(
        (row) =>
          `<tr>${cells(row)
            .map((c) => `<td>${c}</td>`)
            .join('')}</tr>`,
      )
      .join('') +
    '</tbody></table>'
  );
}

export function inline(text: string): string {
  return escapeHtml(text)
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
    .replace(/\[([^\]]+)\]\(((?:\/|https:\/\/)[^)\s]*)\)/g, '<a href="$2">$1</a>');
}

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}
