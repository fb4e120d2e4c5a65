// The browser a benchmark page runs in, named for the report (a user-agent string is a paragraph).

/**
 * "Chromium 142.0.7444.59 (headless)", "Firefox 140.0" or "Safari 18.5" from a user-agent string; the string
 * itself where it names none of them.
 */
export function runtimeOf(ua: string): string {
  const chrome = /(Headless)?Chrome\/([\d.]+)/.exec(ua);
  if (chrome) return `Chromium ${chrome[2]}${chrome[1] ? ' (headless)' : ''}`;
  const firefox = /Firefox\/([\d.]+)/.exec(ua);
  if (firefox) return `Firefox ${firefox[1]}`;
  const safari = /Version\/([\d.]+).*Safari\//.exec(ua);
  if (safari) return `Safari ${safari[1]}`;
  return ua;
}
