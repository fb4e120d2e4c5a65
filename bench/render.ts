// Re-renders the Markdown and SVG of saved runs from their JSON (after a change to the report's layout):
// node --import tsx bench/render.ts bench/results/<run>.json …
import { readFile, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { markdown, svgChart, type BenchReport } from './report.js';

for (const file of process.argv.slice(2)) {
  const r = JSON.parse(await readFile(file, 'utf8')) as BenchReport;
  const stemPath = file.replace(/\.json$/, '');
  await writeFile(`${stemPath}.md`, markdown(r, `${basename(stemPath)}.svg`));
  await writeFile(`${stemPath}.svg`, svgChart(r));
  console.log(`wrote ${stemPath}.md, ${stemPath}.svg`);
}
